"""Fixtures of the tests that run without bittensor installed: our toy axon only."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
from typing import Iterator

import pytest

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
