"""Time to first event: how long after a miner writes its first Server-Sent Event a validator's
code holds it. Miners in a separate process (``--serve``: plain asyncio, chunked
``text/event-stream`` answers to any POST, the first event's data carrying ``time.time_ns()``
taken just before it is written, then 3 more 20 ms apart and ``[DONE]``); the client
(``--client ours``: ``dendrite_rs.http.Dendrite.stream``; ``--client aiohttp``: the fan-out
subnet validators write, reading ``response.content`` line by line) takes ``time.time_ns()`` as
each axon's first event reaches its code. One JSON line: the latency's median, p90 and max over
rounds x miners (µs), and the events read.

    python bench_first_event.py --client ours [--miners 4] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any, Dict, List, Tuple

SHARED = os.environ.get("DENDRITE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "peer10"))

import netguard  # noqa: E402,F401  loopback only

EVENTS_AFTER_FIRST = 3
EVENT_GAP_S = 0.02
HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request of one connection with a stamped event stream."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            header = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            stamp = time.time_ns()
            writer.write(header + chunk(b'data: {"sent_ns": %d}\n\n' % stamp))
            await writer.drain()
            for i in range(EVENTS_AFTER_FIRST):
                await asyncio.sleep(EVENT_GAP_S)
                writer.write(chunk(b'data: {"token": %d}\n\n' % i))
            writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(count: int) -> None:
    servers = [await asyncio.start_server(answer, "127.0.0.1", 0) for _ in range(count)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps([{"ip": "127.0.0.1", "port": p, "hotkey": HOTKEY} for p in ports]), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def ours(axons: List[Dict[str, Any]], rounds: int) -> Tuple[List[float], int]:
    from dendrite_rs.http import Dendrite

    dendrite = Dendrite("//Alice", auth="none")
    targets = [SimpleNamespace(**a) for a in axons]
    latencies: List[float] = []
    events = 0
    for r in range(rounds + 1):
        seen = set()
        round_latencies = []
        async for item in dendrite.stream("POST", targets, "/v1/chat/completions", json={"stream": True}):
            arrived = time.time_ns()
            events += 1
            if item.position not in seen and item.event.data.startswith("{"):
                seen.add(item.position)
                round_latencies.append((arrived - json.loads(item.event.data)["sent_ns"]) / 1e3)
        if r:  # round 0 opens the connections
            latencies.extend(round_latencies)
    await dendrite.aclose_session()
    return latencies, events


async def with_aiohttp(axons: List[Dict[str, Any]], rounds: int) -> Tuple[List[float], int]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    counted = [0]

    async def one(axon: Dict[str, Any]) -> float:
        url = f"http://{axon['ip']}:{axon['port']}/v1/chat/completions"
        latency = float("nan")
        async with session.post(url, json={"stream": True}) as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    arrived = time.time_ns()
                    counted[0] += 1
                    if latency != latency and line.startswith(b"data: {"):
                        latency = (arrived - json.loads(line[6:])["sent_ns"]) / 1e3
        return latency

    latencies: List[float] = []
    for r in range(rounds + 1):
        got = await asyncio.gather(*(one(a) for a in axons))
        if r:
            latencies.extend(got)
    await session.close()
    return latencies, counted[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=["ours", "aiohttp"])
    parser.add_argument("--serve", type=int, help="run COUNT miners and print their axon list")
    parser.add_argument("--miners", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    miners = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.miners)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert miners.stdout is not None
        axons = json.loads(miners.stdout.readline())
        run = ours if args.client == "ours" else with_aiohttp
        latencies, events = asyncio.run(run(axons, args.rounds))
    finally:
        miners.kill()
    latencies.sort()
    expected = (args.rounds + 1) * args.miners * (EVENTS_AFTER_FIRST + 2)
    print(
        json.dumps(
            {
                "client": "dendrite_rs.http (ours)" if args.client == "ours" else "aiohttp (subnet style)",
                "miners": args.miners,
                "rounds": args.rounds,
                "first_event_us_p50": latencies[len(latencies) // 2],
                "first_event_us_p90": latencies[len(latencies) * 9 // 10],
                "first_event_us_max": latencies[-1],
                "events": events,
                "events_expected": expected,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
