"""``dendrite_rs.http.Dendrite`` side by side with bittensor 10.5.0's real ``Dendrite``, against
the real 10.5.0 axon and ours: the same status codes, messages and results."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import bittensor as bt
import numpy as np
import pydantic
import pytest
from conftest import Served, synapses

import dendrite_rs.http
from dendrite_rs.http import Dendrite

CASES = [
    ("Dummy", lambda: synapses.Dummy(dummy_input=21), 12.0),
    ("Hashed", lambda: synapses.Hashed(text="wire check é"), 12.0),
    ("TensorEcho", lambda: synapses.TensorEcho(x=synapses.tensor([1.0, 2.0, 3.0, 4.0])), 12.0),
    ("Slow in time", lambda: synapses.Slow(x=7, delay_s=0.2), 5.0),
    ("Slow past timeout", lambda: synapses.Slow(x=7, delay_s=3.0), 1.0),
    ("Unknown", lambda: synapses.Unknown(), 12.0),
]


def both(axons: Any, make: Any, timeout: float, deserialize: bool) -> List[Any]:
    async def run() -> List[Any]:
        real = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice"))
        ours = Dendrite("//Alice")
        theirs = await real(axons, synapse=make(), timeout=timeout, deserialize=deserialize)
        mine = await ours(axons, synapse=make(), timeout=timeout, deserialize=deserialize)
        await real.aclose_session()
        return [theirs, mine]

    return asyncio.run(run())


def same_result(a: Any, b: Any) -> bool:
    """Equal results: arrays by value; synapses (what ``deserialize()`` of a bare synapse
    gives) by their own fields and statuses, not by nonces, uuids, signatures or times."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    if isinstance(a, bt.Synapse) and isinstance(b, bt.Synapse):
        own = lambda s: {k: v for k, v in s.model_dump().items() if k not in dendrite_rs.http.BASE_FIELDS}  # noqa: E731
        status = lambda s: (s.dendrite.status_code, s.dendrite.status_message, s.axon.status_code)  # noqa: E731
        return type(a) is type(b) and own(a) == own(b) and status(a) == status(b)
    return a == b


@pytest.mark.parametrize("case,make,timeout", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("axon", ["real_axon", "our_axon"])
def test_same_answers_as_the_real_dendrite(axon: str, case: str, make: Any, timeout: float, request: Any) -> None:
    served: Served = request.getfixturevalue(axon)
    real, ours = both([served.axon_info], make, timeout, deserialize=False)
    assert len(real) == len(ours) == 1
    r, o = real[0], ours[0]
    assert type(o) is type(r)
    assert o.dendrite.status_code == r.dendrite.status_code, (case, r.dendrite, o.dendrite)
    assert o.dendrite.status_message == r.dendrite.status_message
    assert o.axon.status_code == r.axon.status_code
    assert o.axon.hotkey == r.axon.hotkey == served.info["hotkey"]
    assert same_result(o.deserialize(), r.deserialize()), case
    if r.dendrite.status_code == 200:
        assert o.dendrite.process_time is not None and o.dendrite.process_time > 0
    # One axon in, one result out; deserialize=True gives deserialize()'s value.
    real_one, ours_one = both(served.axon_info, make, timeout, deserialize=True)
    assert same_result(ours_one, real_one), case


def test_refusals_and_failures(blacklisting_axon: Served) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = bt.AxonInfo(**{**vars(blacklisting_axon.axon_info), "port": port})
    real, ours = both([blacklisting_axon.axon_info, closed], lambda: synapses.Dummy(dummy_input=1), 12.0, False)
    for r, o in zip(real, ours):
        assert (o.dendrite.status_code, o.dendrite.status_message) == (
            r.dendrite.status_code,
            r.dendrite.status_message,
        )
    assert [o.dendrite.status_code for o in ours] == [403, 503]


def test_never_blocks_the_loop_and_cancels(our_axon: Served) -> None:
    async def run() -> None:
        d = Dendrite("//Alice")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick = asyncio.ensure_future(ticker())
        slow = asyncio.ensure_future(d(our_axon.axon_info, synapses.Slow(x=1, delay_s=0.5), timeout=5.0))
        assert await slow == 1
        assert ticks >= 20, ticks  # the loop ran while the call waited
        started = time.monotonic()
        task = asyncio.ensure_future(d(our_axon.axon_info, synapses.Slow(x=1, delay_s=3.0), timeout=5.0))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0
        tick.cancel()
        await d.aclose_session()

    asyncio.run(run())


def test_concurrent_calls_to_one_axon_are_all_answered(real_axon: Served) -> None:
    async def run() -> List[int]:
        d = Dendrite("//Alice")
        axons = [real_axon.axon_info] * 12
        results = await asyncio.gather(*(d(axons, synapses.Dummy(dummy_input=i), deserialize=False) for i in range(3)))
        return [s.dendrite.status_code for batch in results for s in batch]

    assert asyncio.run(run()) == [200] * 36


def test_history_is_bounded_and_query_is_sync(our_axon: Served) -> None:
    d = Dendrite("//Alice", history=3)
    for i in range(5):
        assert d.query(our_axon.axon_info, synapses.Dummy(dummy_input=i)) == 2 * i
    assert len(d.synapse_history) == 3
    # As 10.5.0 keeps them: bare synapses with the calls' terminal infos.
    assert [s.name for s in d.synapse_history] == ["Synapse"] * 3
    assert all(s.dendrite.status_code == 200 and s.axon.hotkey for s in d.synapse_history)
    nonces = [s.dendrite.nonce for s in d.synapse_history]
    assert nonces == sorted(nonces) and len(set(nonces)) == 3


class CountingKeypair:
    """A keypair that keeps its secret, as ``bittensor_wallet.Keypair`` does (no
    ``private_key``), signing through the real one and counting its signatures; ``broken``
    makes ``sign`` raise, ``short`` makes it answer too few bytes."""

    def __init__(self, keypair: Any, broken: bool = False, short: bool = False) -> None:
        self.keypair, self.broken, self.short, self.signed = keypair, broken, short, 0
        self.ss58_address, self.public_key = keypair.ss58_address, keypair.public_key

    def sign(self, data: bytes) -> bytes:
        if self.broken:
            raise RuntimeError("the signer is locked")
        self.signed += 1
        return self.keypair.sign(data)[: 32 if self.short else 64]


def test_a_keypair_that_keeps_its_secret_signs_with_its_own_sign(real_axon: Served, our_axon: Served) -> None:
    """10.5.0 takes ``Dendrite(wallet=keypair)`` for a ``bittensor_wallet.Keypair``, which does
    not give its secret away: ours signs every request through that keypair's ``sign``."""
    alice = bt.Keypair.create_from_uri("//Alice")
    assert not getattr(alice, "private_key", None)
    axons = [real_axon.axon_info, our_axon.axon_info] * 3

    async def run(wallet: Any) -> List[Any]:
        dendrite = Dendrite(wallet)
        return list(await dendrite(axons, synapse=synapses.Dummy(dummy_input=4), timeout=12.0, deserialize=False))

    direct = Dendrite(alice)
    assert direct.keypair is alice and str(direct) == f"dendrite({alice.ss58_address})"
    answers = asyncio.run(run(alice))
    assert [a.dendrite.status_code for a in answers] == [200] * 6, [a.dendrite for a in answers]
    assert [a.dummy_output for a in answers] == [8] * 6
    assert {a.dendrite.hotkey for a in answers} == {alice.ss58_address}
    counting = CountingKeypair(alice)
    answers = asyncio.run(run(counting))
    assert [a.dendrite.status_code for a in answers] == [200] * 6
    assert counting.signed == 6
    # A signer that fails signs nothing valid: every axon refuses, nothing raises here, and
    # each failure reaches sys.unraisablehook.
    seen: List[str] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(f"{type(u.exc_value).__name__}: {u.exc_value}")
    try:
        for wallet in (CountingKeypair(alice, broken=True), CountingKeypair(alice, short=True)):
            refused = asyncio.run(run(wallet))
            assert all(a.dendrite.status_code == 401 for a in refused), [a.dendrite for a in refused]
    finally:
        sys.unraisablehook = hook
    assert seen.count("RuntimeError: the signer is locked") == 6, seen
    assert sum("not a 64-byte sr25519 signature" in s for s in seen) == 6, seen
    # The keypair also signs on the caller's own thread, which holds the GIL (requests sent by
    # other means), before and after the runtime's threads have signed with it.
    for signer in (Dendrite(alice), direct):
        signature = signer._native.sign(b"signed on the loop's thread")
        assert alice.verify(b"signed on the loop's thread", signature)


def test_keys_and_mistakes() -> None:
    with pytest.raises(ValueError, match="neither exposes its secret key nor signs"):
        Dendrite(object())
    # No wallet: the default wallet's hotkey, as 10.5.0 (a missing hotkey file is a ValueError).
    code = (
        "import sys, bittensor as bt; from dendrite_rs.http import Dendrite\n"
        "try:\n    Dendrite()\nexcept ValueError as e:\n    print('refused:', e)\n"
        "w = bt.Wallet(); w.create_hotkey_from_uri('//Ferdie', use_password=False, overwrite=True, suppress=True)\n"
        "d = Dendrite(); print(d.keypair.ss58_address == w.hotkey.ss58_address == str(d)[9:-1])"
    )
    home = tempfile.mkdtemp()
    env = {**os.environ, "HOME": home, "READ_ONLY": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith("refused: "), out.stdout
    assert out.stdout.splitlines()[-1] == "True", out.stdout
    assert Dendrite("//Alice").uuid
    # A dendrite made from a URI reads like one made from bittensor's keypair of that URI.
    alice, mine = bt.Keypair.create_from_uri("//Alice"), Dendrite("//Alice").keypair
    assert (mine.ss58_address, mine.public_key) == (alice.ss58_address, alice.public_key)
    assert alice.verify("signed text é", mine.sign("signed text é"))
    assert not alice.verify("other text", mine.sign("signed text é"))


def test_imports_without_torch() -> None:
    code = "import sys, dendrite_rs.http; assert 'torch' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert dendrite_rs.http.Dendrite is Dendrite


def test_runtime_threads_from_the_environment(our_axon: Served) -> None:
    """DENDRITE_RS_THREADS sizes the runtime; a bad value is a RuntimeError, never a panic."""
    code = (
        "import asyncio, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "import synapses\n"
        "from dendrite_rs.http import Dendrite\n"
        "import bittensor as bt, json\n"
        "axon = bt.AxonInfo(**json.loads(sys.argv[1]))\n"
        "try:\n"
        "    out = asyncio.run(Dendrite('//Alice')(axon, synapses.Dummy(dummy_input=3)))\n"
        "    print(out)\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError', e)\n"
    )
    peer10 = str(pathlib.Path(synapses.__file__).parent)
    info = json.dumps({k: v for k, v in our_axon.info.items() if k in bt.AxonInfo.__dataclass_fields__})
    for threads, expected in [("3", "6"), ("zero", "RuntimeError DENDRITE_RS_THREADS must be"), ("0", "RuntimeError")]:
        env = dict(os.environ, DENDRITE_RS_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", code, info, peer10], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().startswith(expected), (threads, out.stdout, out.stderr)


@pytest.mark.parametrize("axon", ["real_axon", "our_axon"])
def test_streams_as_the_real_dendrite_streams(axon: str, request: Any) -> None:
    served: Served = request.getfixturevalue(axon)

    async def collect(dendrite: Any, deserialize: bool) -> List[Any]:
        streams = await dendrite(
            [served.axon_info], synapses.Stream(n=5), timeout=12.0, deserialize=deserialize, streaming=True
        )
        collected = []
        for stream in streams:
            collected.append([item async for item in stream])
        return collected

    async def run() -> List[Any]:
        real = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice"))
        ours = Dendrite("//Alice")
        out = [await collect(real, False), await collect(ours, False), await collect(ours, True)]
        single = [item async for item in await ours(served.axon_info, synapses.Stream(n=3), streaming=True)]
        out.append(single)
        await real.aclose_session()
        return out

    (theirs,), (mine,), (deserialized,), single = asyncio.run(run())
    assert mine[:-1] == theirs[:-1] == [f"tok{i} " for i in range(5)]
    final, real_final = mine[-1], theirs[-1]
    assert isinstance(final, synapses.Stream)
    assert final.toks == real_final.toks
    assert final.dendrite.status_code == real_final.dendrite.status_code == 200
    assert final.axon.status_message == real_final.axon.status_message
    assert deserialized[-1] == "tok0 tok1 tok2 tok3 tok4 "
    assert single == ["tok0 ", "tok1 ", "tok2 ", "tok0 tok1 tok2 "]


async def validator_step(wallet: Any, axons: List[Any], step: int) -> List[float]:
    """A subnet-style validator step written against bittensor 10.x's API, as subnets write it:
    build the dendrite from the wallet, query every axon, score the answers."""
    dendrite = bt.Dendrite(wallet=wallet)
    responses = await dendrite(axons=axons, synapse=synapses.Dummy(dummy_input=step), deserialize=False, timeout=5.0)
    scores = [1.0 if r.is_success and r.dummy_output == 2 * step else 0.0 for r in responses]
    await dendrite.aclose_session()
    return scores


def test_a_validator_loop_runs_unchanged_after_install(real_axon: Served, our_axon: Served, tmp_path: Any) -> None:
    wallet = bt.Wallet(name="validator", hotkey="default", path=str(tmp_path))
    wallet.create_coldkey_from_uri("//Alice", use_password=False, overwrite=True, suppress=True)
    wallet.create_hotkey_from_uri("//Alice", use_password=False, overwrite=True, suppress=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = bt.AxonInfo(**{**vars(our_axon.axon_info), "port": s.getsockname()[1]})
    axons = [real_axon.axon_info, our_axon.axon_info, closed]
    before = [asyncio.run(validator_step(wallet, axons, step)) for step in range(3)]
    dendrite_rs.http.install()
    try:
        assert bt.Dendrite is Dendrite
        after = [asyncio.run(validator_step(wallet, axons, step)) for step in range(3)]
    finally:
        dendrite_rs.http.uninstall()
    assert bt.Dendrite is not Dendrite
    assert after == before == [[1.0, 1.0, 0.0]] * 3


def test_phases_metrics_and_aquery(our_axon: Served) -> None:
    async def run() -> Any:
        d = Dendrite("//Alice")
        port = d.serve_metrics()
        answers = await d.aquery([our_axon.axon_info] * 2, synapses.Dummy(dummy_input=4))
        return d, port, answers

    d, port, answers = asyncio.run(run())
    assert answers == [8, 8]
    assert len(d.last_phases) == 2
    assert set(d.last_phases[0]) == set(dendrite_rs._native.PHASES)
    assert all(p["wait"] > 0 for p in d.last_phases)
    text = d.metrics_text()
    assert "Dummy" in text, text[:2000]
    import urllib.request

    served = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "Dummy" in served


def test_threads_fork_and_one_line_value_errors(our_axon: Served) -> None:
    import multiprocessing
    import threading

    d = Dendrite("//Alice")
    assert d.query(our_axon.axon_info, synapses.Dummy(dummy_input=1)) == 2
    answers: List[Any] = []
    threads = [
        threading.Thread(target=lambda i=i: answers.append(d.query(our_axon.axon_info, synapses.Dummy(dummy_input=i))))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [0, 2, 4, 6]

    def child(queue: Any) -> None:
        queue.put(d.query(our_axon.axon_info, synapses.Dummy(dummy_input=5)))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    assert queue.get(timeout=30) == 10
    process.join(timeout=30)
    assert process.exitcode == 0

    for call, says in [
        (lambda: d.query(our_axon.axon_info, synapses.Dummy(dummy_input=1), timeout=-1.0), "timeout must be"),
        (lambda: d.query(object(), synapses.Dummy(dummy_input=1)), "an axon must have ip, port and hotkey"),
        (lambda: Dendrite("//Alice", auth="v9"), "auth must be"),
    ]:
        with pytest.raises(ValueError, match=says) as raised:
            call()
        assert "\n" not in str(raised.value)


def test_btauth_keyword_signs_for_11_3_0_servers() -> None:
    import os
    import tempfile

    from conftest import SHARED

    python11 = os.environ.get("DENDRITE_PEER11_PYTHON")
    if python11 is None:
        python11 = (
            subprocess.run(
                ["bash", str(SHARED / "peer10" / "setup.sh"), "--v11"], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    info = os.path.join(tempfile.mkdtemp(), "bt.json")
    server = subprocess.Popen(
        [python11, str(SHARED / "peer10" / "btauth_server.py"), "--info-out", info, "--run-seconds", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while not os.path.exists(info) or not os.path.getsize(info):
            assert time.time() < deadline and server.poll() is None
            time.sleep(0.05)
        import json

        spec = json.load(open(info))
        target = bt.AxonInfo(
            version=0, ip=spec["ip"], port=spec["port"], ip_type=4, hotkey=spec["hotkey"], coldkey=spec["hotkey"]
        )
        signed = Dendrite("//Alice", auth="btauth").query(target, synapses.Dummy(dummy_input=1), deserialize=False)
        unsigned = Dendrite("//Alice").query(target, synapses.Dummy(dummy_input=1), deserialize=False)
        assert signed.dendrite.status_code != 401
        assert unsigned.dendrite.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_requests_sent_by_other_means_as_10_5_0_sends_them(real_axon: Served) -> None:
    """Subnet code that sends a synapse itself (``preprocess_synapse_for_request``,
    ``_get_endpoint_url``, ``to_headers``, ``session``, ``process_server_response``) runs on ours
    as on 10.5.0's, and the real axon accepts our signature."""
    axon = real_axon.axon_info

    async def by_hand(dendrite: Any, synapse: Any) -> Any:
        synapse = dendrite.preprocess_synapse_for_request(axon, synapse, 12.0)
        url = dendrite._get_endpoint_url(axon, synapse.name)
        session = await dendrite.session
        async with session.post(url, headers=synapse.to_headers(), json=synapse.model_dump()) as response:
            dendrite.process_server_response(response, await response.json(), synapse)
        await dendrite.aclose_session()
        return synapse

    def both(make: Any) -> List[Any]:
        real = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice"))
        ours = Dendrite("//Alice", external_ip=real.external_ip)
        assert ours._get_endpoint_url(axon, "Hashed") == real._get_endpoint_url(axon, "Hashed")
        return [asyncio.run(by_hand(real, make())), asyncio.run(by_hand(ours, make()))]

    def terminal(info: Any) -> Any:
        varying = ("nonce", "uuid", "signature", "process_time")
        return {k: v for k, v in info.model_dump().items() if k not in varying}

    theirs, mine = both(lambda: synapses.Hashed(text="by hand é"))
    assert mine.out == theirs.out == "BY HAND É"
    assert terminal(mine.dendrite) == terminal(theirs.dendrite)
    assert terminal(mine.axon) == terminal(theirs.axon)
    assert mine.dendrite.status_code == 200
    # A refusal: the body's message becomes the status message on both.
    theirs, mine = both(lambda: synapses.Unknown())
    assert (mine.dendrite.status_code, mine.dendrite.status_message) == (
        theirs.dendrite.status_code,
        theirs.dendrite.status_message,
    )
    assert mine.dendrite.status_code == 404

    # Failures of such requests take 10.5.0's codes and messages.
    import aiohttp

    real = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice"))
    ours = Dendrite("//Alice", external_ip=real.external_ip)

    def failed(dendrite: Any, failure: BaseException) -> Any:
        synapse = dendrite.preprocess_synapse_for_request(axon, synapses.Dummy(dummy_input=1))
        synapse = dendrite.process_error_message(synapse, "Dummy", failure)
        return (synapse.dendrite.status_code, synapse.dendrite.status_message)

    for failure in [asyncio.TimeoutError(), aiohttp.ClientPayloadError("cut"), aiohttp.ClientError("x"), KeyError("k")]:
        assert failed(ours, failure) == failed(real, failure)


def test_nonces_of_preprocessed_synapses_rise(real_axon: Served) -> None:
    """Two synapses preprocessed within one tick of ``time.time_ns()`` still differ in nonce
    (the axon refuses a nonce not above the last it accepted)."""
    ours = Dendrite("//Alice")
    made = [ours.preprocess_synapse_for_request(real_axon.axon_info, synapses.Dummy(dummy_input=1)) for _ in range(200)]
    nonces = [synapse.dendrite.nonce for synapse in made]
    assert all(a < b for a, b in zip(nonces, nonces[1:]))


def test_close_session_closes_the_aiohttp_session_outside_and_inside_a_loop() -> None:
    async def made(dendrite: Any) -> Any:
        return await dendrite.session

    ours = Dendrite("//Alice")
    outside = asyncio.run(made(ours))
    ours.close_session()
    assert outside.closed

    async def closed_inside(dendrite: Any) -> Any:
        session = await dendrite.session
        assert session is not outside
        dendrite.close_session()
        await asyncio.sleep(0.05)
        return session

    assert asyncio.run(closed_inside(ours)).closed

    # Left open, it is closed when the dendrite goes.
    left = asyncio.run(made(ours))
    del ours
    gc.collect()
    assert left.closed


#: ``Dummy`` (the axons route by the class's name) with a private attribute, as subnets keep
#: state on their synapses.
Noted: Any = type(
    "Dummy",
    (synapses.Dummy,),
    {"__annotations__": {"_note": str}, "_note": pydantic.PrivateAttr(default="default"), "__module__": __name__},
)


@pytest.mark.parametrize("axon", ["real_axon", "our_axon"])
def test_the_callers_synapse_is_unchanged_and_private_attributes_survive(axon: str, request: Any) -> None:
    served: Served = request.getfixturevalue(axon)

    async def run() -> List[Any]:
        out = []
        for dendrite in (bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice")), Dendrite("//Alice")):
            synapse = Noted(dummy_input=3)
            synapse._note = "mine"
            before = synapse.model_dump()
            result = await dendrite(served.axon_info, synapse=synapse, timeout=7.0, deserialize=False)
            # 10.5.0 sends a copy: timeout, total_size and the terminal infos stay unset here.
            out.append((synapse.model_dump() == before, synapse.timeout, result._note, result.dummy_output))
            if isinstance(dendrite, bt.Dendrite):
                await dendrite.aclose_session()
        return out

    theirs, ours = asyncio.run(run())
    assert theirs == (True, 12.0, "mine", 6), "what 10.5.0 does"
    assert ours == theirs


def test_run_async_false_sends_to_one_axon_after_another(our_axon: Served) -> None:
    async def run(run_async: bool) -> float:
        d = Dendrite("//Alice")
        axons = [our_axon.axon_info] * 3
        started = time.perf_counter()
        answers = await d(axons, synapses.Slow(x=1, delay_s=0.3), timeout=5.0, run_async=run_async, deserialize=False)
        assert [a.dendrite.status_code for a in answers] == [200] * 3
        return time.perf_counter() - started

    # One after another cannot take less than the three delays in a row (10.5.0's loop).
    assert asyncio.run(run(False)) >= 0.9
    assert asyncio.run(run(True)) >= 0.3


class Oddities(bt.Synapse):  # type: ignore[misc]
    """Own fields whose JSON is easy to get wrong: non-ASCII, a lone surrogate, a long string
    (kept for its echo), nesting, floats, and an int past i128 (Python's own ``json.dumps``)."""

    text: str = ""
    long: str = ""
    nested: Dict[str, Any] = {}
    floats: List[float] = []
    big: int = 0


def test_own_fields_are_written_byte_for_byte_as_10_5_0_writes_them() -> None:
    """The request bodies' own fields (written in Rust, read from each ``str`` where it keeps its
    bytes) are 10.5.0's bytes, seen by one raw server; a lone surrogate or an int no JSON number
    type holds falls back to Python's ``json.dumps`` and still matches."""
    bodies: List[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        bodies.append(await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    cases = [
        Oddities(text='é ü 漢字 🎉 "quoted" \\ \n\t\x01', long="base64+/=" * 2000, floats=[0.1, 1e300, -0.0, 5e-324]),
        Oddities(text="lone \ud800 surrogate", nested={"a": [1, {"b": None, "c": True}], "é": "ü"}),
        Oddities(big=2**130, nested={"deep": {"list": [[1.5], ["x"]]}}),
    ]

    async def run() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        axon = bt.AxonInfo(version=0, ip="127.0.0.1", port=port, ip_type=4, hotkey="x", coldkey="x")
        real = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice"))
        ours = Dendrite("//Alice")
        for case in cases:
            await real(axon, case.model_copy(deep=True), timeout=5.0, deserialize=False)
            await ours(axon, case.model_copy(deep=True), timeout=5.0, deserialize=False)
        await real.aclose_session()
        server.close()

    asyncio.run(run())
    assert len(bodies) == 2 * len(cases)
    own = [body.split(b'"computed_body_hash": ""', 1)[1] for body in bodies]
    for index in range(len(cases)):
        assert own[2 * index + 1] == own[2 * index], index
    assert b"\\ud800" in own[2] and str(2**130).encode() in own[4]
