"""A price-path subnet's miner (Synth's shape) on the real bittensor 10.5.0 ``Axon``: ``Paths``
answers ``n_paths`` random walks of ``n_steps`` prices, or, by ``mode``, what a broken miner
sends: ``ragged`` (the last path one price short), ``text`` (a price that is a string),
``none`` (no paths).

    python paths_miner.py [--info-out FILE] [--run-seconds 600]

Hotkey //Bob on 127.0.0.1 (a free port); writes its AxonInfo (+ pid) to ``--info-out``. (No
``from __future__ import annotations``: ``Axon.attach`` reads the handler's class from its
annotation.)"""

import argparse
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from typing import Any, List, Optional

SHARED = os.environ.get("DENDRITE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "peer10"))
# isort: off
import netguard  # noqa: E402,F401  first: loopback only, no external-IP lookup, READ_ONLY
import bittensor as bt  # noqa: E402
from bittensor_wallet import Wallet  # noqa: E402

# isort: on


class Paths(bt.Synapse):  # type: ignore[misc]
    """The miner's side: its prices may be anything (a broken miner's are)."""

    n_paths: int
    n_steps: int
    mode: str = "ok"
    paths: Optional[List[List[Any]]] = None


def forward(synapse: Paths) -> Paths:
    rng = random.Random(synapse.n_paths * 1_000_003 + synapse.n_steps)
    paths: List[List[Any]] = []
    for _ in range(synapse.n_paths):
        price, walk = 100_000.0, []
        for _ in range(synapse.n_steps):
            price *= 1 + rng.uniform(-0.001, 0.001)
            walk.append(price)
        paths.append(walk)
    if synapse.mode == "ragged" and paths:
        paths[-1] = paths[-1][:-1]
    elif synapse.mode == "text" and paths and paths[0]:
        paths[0][1] = "104523.4"
    synapse.paths = None if synapse.mode == "none" else paths
    return synapse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--info-out")
    parser.add_argument("--run-seconds", type=float, default=600.0)
    args = parser.parse_args()
    with socket.socket() as s:  # Axon refuses port 0
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wallet_dir = tempfile.mkdtemp(prefix="paths-miner-")
    try:
        wallet = Wallet(name="miner", hotkey="default", path=wallet_dir)
        wallet.create_coldkey_from_uri("//Bob", use_password=False, overwrite=True, suppress=True)
        wallet.create_hotkey_from_uri("//Bob", use_password=False, overwrite=True, suppress=True)
        axon = bt.Axon(wallet=wallet, port=port, ip="127.0.0.1", external_ip="127.0.0.1", external_port=port)
        axon.fast_config.host = "127.0.0.1"
        axon.attach(forward_fn=forward)
        axon.start()
        deadline = time.time() + 30
        while not axon.fast_server.started:
            if time.time() > deadline:
                sys.exit("axon did not start in 30 s")
            time.sleep(0.02)
        info = dict(dataclasses.asdict(axon.info()), pid=os.getpid())
        if args.info_out:
            with open(args.info_out + ".tmp", "w") as f:
                json.dump(info, f)
            os.replace(args.info_out + ".tmp", args.info_out)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        stop.wait(args.run_seconds)
        axon.stop()
    finally:
        shutil.rmtree(wallet_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
