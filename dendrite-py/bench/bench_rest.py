"""Rounds of one Epistula-signed REST request from Python to every axon of a list:
``dendrite_rs.http.Dendrite.post`` (``--client ours``) or the fan-out subnet validators write
themselves (``--client aiohttp``: bittensor_wallet signs each request in Python, one aiohttp
session, ``asyncio.gather`` under ``wait_for``), in the 10.x peer's venv. One JSON line: rounds/s,
client CPU per request, status codes, timeouts, signed answers, peak RSS.

    python bench_rest.py --client ours --axons FILE [--path /score] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import sys
import time
import uuid
from typing import Any, Dict, List

SHARED = os.environ.get("DENDRITE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "peer10"))

import netguard  # noqa: E402,F401  loopback only

BODY = {"task": "score", "prompt": "how many r in strawberry", "n": 1}


class Axon:
    """What a request needs of an axon."""

    def __init__(self, spec: Dict[str, Any]) -> None:
        self.ip, self.port, self.hotkey = spec["ip"], int(spec["port"]), spec["hotkey"]


async def ours(axons: List[Axon], args: argparse.Namespace) -> Any:
    from dendrite_rs.http import Dendrite

    dendrite = Dendrite("//Alice", auth="epistula")

    async def one_round() -> List[Any]:
        answers = await dendrite.post(axons, args.path, json=BODY, timeout=args.timeout)
        return [(a.status_code, a.answer_signed) for a in answers]

    return one_round, dendrite.aclose_session


async def with_aiohttp(axons: List[Axon], args: argparse.Namespace) -> Any:
    """A validator's own fan-out, as public subnet code writes it."""
    import aiohttp
    from bittensor_wallet import Keypair

    me = Keypair.create_from_uri("//Alice")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def headers_for(body: bytes, signed_for: str) -> Dict[str, str]:
        ts = round(time.time() * 1000)
        u = str(uuid.uuid4())
        message = f"{hashlib.sha256(body).hexdigest()}.{u}.{ts}.{signed_for}"
        return {
            "Epistula-Version": "2",
            "Epistula-Timestamp": str(ts),
            "Epistula-Uuid": u,
            "Epistula-Signed-By": me.ss58_address,
            "Epistula-Signed-For": signed_for,
            "Epistula-Request-Signature": "0x" + me.sign(message).hex(),
            "Content-Type": "application/json",
        }

    async def one(axon: Axon) -> Any:
        body = json.dumps(BODY).encode()
        url = f"http://{axon.ip}:{axon.port}{args.path}"
        try:
            async with session.post(url, data=body, headers=headers_for(body, axon.hotkey)) as response:
                data = await response.read()
                json.loads(data)
                return (response.status, None)
        except Exception:
            return (599, None)

    async def one_round() -> List[Any]:
        tasks = [asyncio.ensure_future(one(a)) for a in axons]
        try:
            return await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
        except asyncio.TimeoutError:
            for t in tasks:
                t.cancel()
            return [(408, None)] * len(axons)

    return one_round, session.close


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    axons = [Axon(a) for a in json.load(open(args.axons))]
    one_round, close = await (ours if args.client == "ours" else with_aiohttp)(axons, args)
    await one_round()  # warm-up: connections
    codes: Dict[str, int] = {}
    signed = 0
    walls: List[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.rounds):
        started = time.perf_counter()
        answers = await one_round()
        walls.append(time.perf_counter() - started)
        for status, answer_signed in answers:
            codes[str(status)] = codes.get(str(status), 0) + 1
            signed += int(answer_signed is True)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await close()
    calls = args.rounds * len(axons)
    walls.sort()
    return {
        "client": "dendrite_rs.http (ours)" if args.client == "ours" else "aiohttp + bittensor_wallet (subnet style)",
        "axons": len(axons),
        "rounds": args.rounds,
        "rounds_per_s": args.rounds / wall,
        "round_ms_p50": walls[len(walls) // 2] * 1e3,
        "client_cpu_us_per_call": cpu / calls * 1e6,
        "success_rate": codes.get("200", 0) / calls,
        "timeouts_408": codes.get("408", 0),
        "signed_answers": signed,
        "status_codes": codes,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=["ours", "aiohttp"], required=True)
    parser.add_argument("--axons", required=True)
    parser.add_argument("--path", default="/score")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=12.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
