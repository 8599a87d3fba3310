"""Fixtures of the ``dendrite_rs.http`` tests on bittensor 11.3.0 (which has no ``Synapse``,
``Dendrite`` or ``Axon``), run in the 11.3.0 venv (no numpy, no torch) by ``cargo xtask test``:
the real 10.5.0 axon (its own venv: ``DENDRITE_PEER10_PYTHON``) and ours (``DENDRITE_BIN``)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import time
from typing import Any, Dict, Iterator, List

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("DENDRITE_SHARED", ROOT.parent / "shared"))


def peer10_python() -> str:
    """The 10.5.0 peer's interpreter (installed by its setup.sh when not given)."""
    given = os.environ.get("DENDRITE_PEER10_PYTHON")
    if given:
        return given
    out = subprocess.run(["bash", str(SHARED / "peer10" / "setup.sh")], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


class Target:
    """What ``Dendrite`` needs of an axon (bittensor 11's ``AxonInfo`` has the same fields)."""

    def __init__(self, info: Dict[str, Any]) -> None:
        self.ip, self.port, self.hotkey = info["ip"], info["port"], info["hotkey"]


class Served:
    """An axon process and its target."""

    def __init__(self, command: List[str]) -> None:
        info = os.path.join(tempfile.mkdtemp(prefix="dendrite-http11-"), "axon.json")
        self.process = subprocess.Popen(
            command + ["--info-out", info], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + 60
        while not os.path.exists(info) or not os.path.getsize(info):
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.05)
        self.target = Target(json.load(open(info)))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def real_axon() -> Iterator[Served]:
    axon = Served([peer10_python(), str(SHARED / "peer10" / "axon.py"), "--run-seconds", "600"])
    yield axon
    axon.stop()


@pytest.fixture(scope="session")
def our_axon() -> Iterator[Served]:
    binary = os.environ.get("DENDRITE_BIN", str(ROOT / "target" / "debug" / "dendrite"))
    axon = Served([binary, "axon", "--protocol", "http", "--port", "0", "--run-seconds", "600"])
    yield axon
    axon.stop()
