"""Fixtures of the dendrite_rs tests: real axons on loopback (ours from the `dendrite` binary, the
real Python bittensor 3.7.0 one from ../shared/peer), a bittensor wallet, and both dendrites.

Run by `cargo xtask test` in the peer's venv; `DENDRITE_BIN` names the `dendrite` binary.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from typing import Dict, Iterator, List

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("DENDRITE_SHARED", ROOT.parent / "shared"))
PEER_DIR = pathlib.Path(os.environ.get("PEER_DIR", pathlib.Path.home() / ".cache" / "dendrite-peer"))
sys.path.insert(0, str(SHARED / "peer"))

import netguard  # noqa: E402  (loopback only; bittensor's external-IP lookup stubbed)

# bittensor.tokenizer() loads ./gpt2 (the peer's offline GPT-2 tokenizer files).
os.chdir(PEER_DIR / "run")

import bittensor  # noqa: E402

import dendrite_rs  # noqa: E402

netguard.patch_bittensor()

AXON_LIFETIME_S = 900
#: A fixed hotkey for the tests (substrate's well-known development phrase).
HOTKEY_MNEMONIC = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Axon:
    """A served axon in a child process."""

    def __init__(self, command: List[str], ready_within: float) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + ready_within
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if line.startswith("AXON READY "):
                self.info: Dict = json.loads(line[len("AXON READY ") :])
                break
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {self.process.returncode} before it was ready")
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{command} not ready within {ready_within} s")

    def endpoint(self, uid: int = 0, coldkey: str | None = None) -> bittensor.Endpoint:
        """The axon as a bittensor endpoint."""
        return bittensor.endpoint(
            version=int(self.info.get("version", bittensor.__version_as_int__)),
            uid=uid,
            hotkey=self.info["hotkey"],
            ip=self.info["ip"],
            ip_type=4,
            port=int(self.info["port"]),
            protocol=0,
            coldkey=coldkey or self.info["hotkey"],
        )

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, 9)
        except ProcessLookupError:
            pass
        self.process.wait()


@pytest.fixture(scope="session")
def dendrite_bin() -> str:
    path = os.environ.get("DENDRITE_BIN", str(ROOT / "target" / "debug" / "dendrite"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"no dendrite binary at {path} (build it, or set DENDRITE_BIN)")
    return path


@pytest.fixture(scope="session")
def toy_axon(dendrite_bin: str) -> Iterator[Axon]:
    axon = Axon([dendrite_bin, "axon", "--port", "0", "--run-seconds", str(AXON_LIFETIME_S)], ready_within=30)
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def toy_axon_2(dendrite_bin: str) -> Iterator[Axon]:
    """A second toy axon with another hotkey: the reference's receptor pool keys receptors by
    hotkey, and two endpoints of one hotkey then race their nonces (Unauthenticated)."""
    axon = Axon(
        [dendrite_bin, "axon", "--port", "0", "--uri", "//Charlie", "--run-seconds", str(AXON_LIFETIME_S)],
        ready_within=30,
    )
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def python_axon() -> Iterator[Axon]:
    axon = Axon(
        [
            sys.executable,
            str(SHARED / "peer" / "axon.py"),
            "--port",
            str(free_port()),
            "--run-seconds",
            str(AXON_LIFETIME_S),
            "--backward",
        ],
        ready_within=120,
    )
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> bittensor.Wallet:
    w = bittensor.wallet(name="dendrite", hotkey="default", path=str(tmp_path_factory.mktemp("wallets")))
    w.create_coldkey_from_uri("//Dave", use_password=False, overwrite=True)
    # From a mnemonic, as btcli makes hotkeys: the key file then holds the secret (a key made
    # from a dev URI is written without one, and neither dendrite could sign with it from disk).
    w.regenerate_hotkey(mnemonic=HOTKEY_MNEMONIC.split(), use_password=False, overwrite=True)
    return w


@pytest.fixture(scope="session")
def bt_dendrite(wallet: bittensor.Wallet) -> bittensor.Dendrite:
    return bittensor.dendrite(wallet=wallet)


@pytest.fixture(scope="session")
def rs_dendrite(wallet: bittensor.Wallet) -> dendrite_rs.Dendrite:
    return dendrite_rs.dendrite(wallet=wallet, delivery="await")


@pytest.fixture(scope="session")
def dead_endpoint(toy_axon: Axon) -> bittensor.Endpoint:
    """A closed port with a valid endpoint around it."""
    endpoint = toy_axon.endpoint(uid=7)
    endpoint.port = free_port()
    return endpoint


@pytest.fixture(scope="session")
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        yield s.getsockname()[1]
