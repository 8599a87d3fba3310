"""Fixtures of the tests that need no bittensor: our toy axon, ports that never answer, and a
dendrite keyed by a dev URI. `cargo xtask test` runs them with the system's torch 1.13 (no
bittensor) and with torch 2.13 from PyPI."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import time
from typing import Iterator

import pytest

import dendrite_rs

ROOT = pathlib.Path(__file__).resolve().parents[2]


class ToyAxon:
    """`dendrite axon` in a child process, recording the gradients it receives."""

    def __init__(self, binary: str, grad_log: pathlib.Path) -> None:
        self.grad_log = grad_log
        self.process = subprocess.Popen(
            [binary, "axon", "--port", "0", "--run-seconds", "600", "--grad-log", str(grad_log)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("AXON READY "), line
        self.info = json.loads(line[len("AXON READY ") :])

    def endpoint(self, uid: int = 0, port: int | None = None) -> dendrite_rs.Endpoint:
        """This axon as an endpoint (optionally at another port: same hotkey, nobody there)."""
        info = self.info
        return dendrite_rs.endpoint(370, uid, info["hotkey"], info["ip"], 4, port or int(info["port"]))

    def gradients(self) -> list:
        if not self.grad_log.exists():
            return []
        return [json.loads(line) for line in self.grad_log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def toy_axon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToyAxon]:
    binary = os.environ.get("DENDRITE_BIN", str(ROOT / "target" / "debug" / "dendrite"))
    axon = ToyAxon(binary, tmp_path_factory.mktemp("toy") / "gradients.jsonl")
    yield axon
    axon.process.kill()
    axon.process.wait()


def wait_for(predicate, seconds: float = 10.0):
    deadline = time.time() + seconds
    while not (value := predicate()) and time.time() < deadline:
        time.sleep(0.02)
    return value


@pytest.fixture(scope="session")
def dendrite() -> dendrite_rs.Dendrite:
    """A dendrite whose `backward()` waits for the Backward answers."""
    return dendrite_rs.dendrite(uri="//Alice", delivery="await")


@pytest.fixture(scope="session")
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        yield s.getsockname()[1]


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
