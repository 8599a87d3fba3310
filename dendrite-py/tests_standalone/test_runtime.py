"""What a Python user expects of a native call: the GIL is released for the network wait, Ctrl-C
ends a call at once, a forked child works, threads can share one dendrite."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import torch

import dendrite_rs


def test_gil_is_released_while_waiting(dendrite: Any, toy_axon: Any, black_hole: int) -> None:
    hole = toy_axon.endpoint(uid=9, port=black_hole)
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    thread = threading.Thread(target=spin)
    thread.start()
    started = time.time()
    _, codes, _ = dendrite.text_last_hidden_state(hole, "hello", timeout=1)
    elapsed = time.time() - started
    stop.set()
    thread.join()
    assert codes.tolist() == [2] and 0.9 < elapsed < 1.5
    # A thread that never gets the GIL would count nothing during the wait.
    assert ticks > 100_000, ticks


def test_ctrl_c_ends_a_call_within_200ms(dendrite: Any, toy_axon: Any, black_hole: int) -> None:
    hole = toy_axon.endpoint(uid=9, port=black_hole)
    sent = []

    def interrupt() -> None:
        sent.append(time.time())
        os.kill(os.getpid(), signal.SIGINT)

    # Python's own Ctrl-C handler, whatever this process inherited: a shell runs a background
    # job (`cmd &` without job control) with SIGINT ignored, and Python then keeps it ignored.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, interrupt)
    started = time.time()
    timer.start()
    try:
        _, codes, times = dendrite.text_last_hidden_state([hole] * 50, "hello", timeout=30)
    except KeyboardInterrupt:
        caught = time.time()
    else:
        # Say how the call ended, so that a failure tells which side gave way.
        raise AssertionError(
            f"the call was not interrupted: it returned after {time.time() - started:.2f} s, "
            f"signal sent at {[round(t - started, 2) for t in sent]}, codes {sorted(set(codes.tolist()))}, "
            f"times {times.min().item():.3f}-{times.max().item():.3f} s"
        )
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, inherited)
    assert caught - sent[0] < 0.2, caught - sent[0]
    # The dendrite works on at once: nothing of the interrupted call holds it up.
    _, codes, _ = dendrite.text_last_hidden_state(toy_axon.endpoint(), "hello", timeout=5)
    assert codes.tolist() == [1]


def test_works_after_fork(toy_axon: Any) -> None:
    d = dendrite_rs.dendrite(uri="//Alice")
    _, codes, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello")
    assert codes.tolist() == [1]
    pid = os.fork()
    if pid == 0:  # the child: the parent's connections and runtime threads are gone
        try:
            outputs, codes, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello", timeout=5)
            os._exit(0 if codes.tolist() == [1] and outputs[0].shape == (1, 1, 1024) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    _, codes, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello")
    assert codes.tolist() == [1]


def test_threads_share_one_dendrite(dendrite: Any, toy_axon: Any) -> None:
    expected, _, _ = dendrite.text_last_hidden_state(toy_axon.endpoint(), torch.tensor([[7, 8]]))
    failures = []

    def worker(i: int) -> None:
        for _ in range(5):
            outputs, codes, _ = dendrite.text_last_hidden_state(toy_axon.endpoint(uid=i), torch.tensor([[7, 8]]))
            if codes.tolist() != [1] or not torch.equal(outputs[0].detach(), expected[0].detach()):
                failures.append((i, codes.tolist()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
