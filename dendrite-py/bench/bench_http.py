"""Rounds of one synapse from Python against an AxonInfo list: ``dendrite_rs.http.Dendrite``
(``--client ours``; ``--client ours-keypair``: signing through a ``bittensor_wallet.Keypair``,
which keeps its secret) or bittensor 10.5.0's real ``Dendrite`` (``--client real``), in the 10.x
peer's venv. One JSON line: rounds/s, client CPU per call, the first-to-last spread of a round's
answers (per-axon ``process_time``), 408s, status codes, peak RSS.

``--synapse Paths`` asks each axon for a price-path subnet's answer (100 paths of 289 floats) and
takes each answer's ``paths`` as a numpy array, as such a validator does: ``numpy.asarray`` of the
validated lists (``real``, ``ours``), or read in Rust straight into an array (``--client
ours-arrays``: ``arrays={"paths": "float64"}``).

    python bench_http.py --client ours --axons FILE [--synapse Dummy|TensorEcho|Paths] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any, Dict, List, Optional

SHARED = os.environ.get("DENDRITE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "peer10"))

import bittensor as bt  # noqa: E402
import numpy as np  # noqa: E402
import synapses  # noqa: E402  (netguard first)

from dendrite_rs.http import Dendrite  # noqa: E402


class Paths(bt.Synapse):  # type: ignore[misc]
    """A price-path subnet's request and answer (Synth's shape), served by our toy axons."""

    n_paths: int
    n_steps: int
    paths: Optional[List[List[float]]] = None


def make(name: str) -> Any:
    if name == "TensorEcho":  # 1 MiB of float32
        return synapses.TensorEcho(x=synapses.tensor(range(262144)))
    if name == "Paths":
        return Paths(n_paths=100, n_steps=289)
    return synapses.Dummy(dummy_input=21)


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    spec = json.load(open(args.axons))
    fields = bt.AxonInfo.__dataclass_fields__
    axons = [bt.AxonInfo(**{k: v for k, v in a.items() if k in fields}) for a in spec]
    if args.client in ("ours", "ours-arrays"):
        dendrite: Any = Dendrite("//Alice")
    elif args.client == "ours-keypair":
        dendrite = Dendrite(bt.Keypair.create_from_uri("//Alice"))
    else:
        dendrite = bt.Dendrite(wallet=bt.Keypair.create_from_uri("//Alice"))
    synapse = make(args.synapse)
    options = {"arrays": {"paths": "float64"}} if args.client == "ours-arrays" else {}
    await dendrite(axons, synapse, timeout=args.timeout, deserialize=False, **options)  # warm-up round
    walls: List[float] = []
    spreads: List[float] = []
    codes: Dict[str, int] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.rounds):
        started = time.perf_counter()
        answers = await dendrite(axons, synapse, timeout=args.timeout, deserialize=False, **options)
        if args.synapse == "Paths":  # what the validator scores: each answer's paths as an array
            arrays = [a.paths if isinstance(a.paths, np.ndarray) else np.asarray(a.paths) for a in answers]
            assert all(x.shape == (100, 289) for x in arrays), [x.shape for x in arrays]
        walls.append(time.perf_counter() - started)
        times = [float(a.dendrite.process_time) for a in answers if a.dendrite.process_time is not None]
        if times:
            spreads.append(max(times) - min(times))
        for a in answers:
            codes[str(a.dendrite.status_code)] = codes.get(str(a.dendrite.status_code), 0) + 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await dendrite.aclose_session()
    calls = args.rounds * len(axons)
    walls.sort()
    spreads.sort()
    return {
        "client": {
            "ours": "dendrite_rs.http (ours)",
            "ours-keypair": "dendrite_rs.http (ours), a bittensor_wallet.Keypair signing",
            "ours-arrays": "dendrite_rs.http (ours), arrays= (paths read into numpy in Rust)",
        }.get(args.client, "bittensor 10.5.0 Dendrite"),
        "synapse": args.synapse,
        "axons": len(axons),
        "rounds": args.rounds,
        "rounds_per_s": args.rounds / wall,
        "round_ms_p50": walls[len(walls) // 2] * 1e3,
        "client_cpu_us_per_call": cpu / calls * 1e6,
        "spread_ms_p50": spreads[len(spreads) // 2] * 1e3 if spreads else None,
        "timeouts_408": codes.get("408", 0),
        "success_rate": codes.get("200", 0) / calls,
        "status_codes": codes,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=["ours", "ours-keypair", "ours-arrays", "real"], required=True)
    parser.add_argument("--axons", required=True)
    parser.add_argument("--synapse", default="Dummy", choices=["Dummy", "TensorEcho", "Paths"])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=12.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
