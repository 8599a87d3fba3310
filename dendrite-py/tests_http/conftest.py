"""Fixtures of the ``dendrite_rs.http`` tests, run in bittensor 10.5.0's venv (no torch) by
``cargo xtask test``: the real 10.5.0 axon (``../shared/peer10/axon.py``) and ours
(``dendrite axon --protocol http``; ``DENDRITE_BIN`` names the binary), each a process on
loopback."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("DENDRITE_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(SHARED / "peer10"))

import bittensor as bt  # noqa: E402
import synapses  # noqa: E402  (netguard first: loopback only, no external-IP lookup)


class Served:
    """An axon process and its AxonInfo."""

    def __init__(self, command: List[str]) -> None:
        self.dir = tempfile.mkdtemp(prefix="dendrite-http-")
        info = os.path.join(self.dir, "axon.json")
        self.process = subprocess.Popen(
            command + ["--info-out", info],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while not os.path.exists(info) or not os.path.getsize(info):
            if self.process.poll() is not None:
                raise RuntimeError(f"{command} exited with {self.process.returncode}")
            if time.time() > deadline:
                raise RuntimeError(f"{command} wrote no info in 60 s")
            time.sleep(0.05)
        self.info: Dict[str, Any] = json.load(open(info))
        fields = {k: v for k, v in self.info.items() if k in bt.AxonInfo.__dataclass_fields__}
        # A miner that is no 10.x axon says only where it is: an AxonInfo as the chain has one.
        fields = {"version": 0, "ip_type": 4, "coldkey": self.info["hotkey"], **fields}
        self.axon_info = bt.AxonInfo(**fields)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def real_axon() -> Iterator[Served]:
    axon = Served([sys.executable, str(SHARED / "peer10" / "axon.py"), "--run-seconds", "600"])
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def blacklisting_axon() -> Iterator[Served]:
    alice = bt.Keypair.create_from_uri("//Alice").ss58_address
    command = [sys.executable, str(SHARED / "peer10" / "axon.py"), "--run-seconds", "600"]
    axon = Served(command + ["--blacklist", alice])
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def epistula_miner() -> Iterator[Served]:
    """The subnet-style Epistula v2 miner (FastAPI; hotkey //Bob), signing its answers."""
    command = [sys.executable, str(SHARED / "peer10" / "epistula_server.py"), "--run-seconds", "600"]
    miner = Served(command + ["--token-delay-ms", "20"])
    yield miner
    miner.stop()


@pytest.fixture(scope="session")
def paths_miner() -> Iterator[Served]:
    """A price-path subnet's miner on the real 10.5.0 Axon (``paths_miner.py``; hotkey //Bob)."""
    miner = Served([sys.executable, str(pathlib.Path(__file__).with_name("paths_miner.py")), "--run-seconds", "600"])
    yield miner
    miner.stop()


@pytest.fixture(scope="session")
def our_axon() -> Iterator[Served]:
    binary = os.environ.get("DENDRITE_BIN", str(ROOT / "target" / "debug" / "dendrite"))
    axon = Served([binary, "axon", "--protocol", "http", "--port", "0", "--run-seconds", "600"])
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def our_paths_axon() -> Iterator[Served]:
    """Our axon also serving ``Paths`` (``--serve-paths``), a price-path subnet's synapse."""
    binary = os.environ.get("DENDRITE_BIN", str(ROOT / "target" / "debug" / "dendrite"))
    command = [binary, "axon", "--protocol", "http", "--port", "0", "--run-seconds", "600", "--serve-paths"]
    axon = Served(command)
    yield axon
    axon.stop()


__all__ = ["Served", "synapses"]
