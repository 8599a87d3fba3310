"""`cargo xtask bench`'s Python face: the workload of `dendrite bench` (the CLI), driven from
Python through `dendrite_rs` (bittensor is not imported), measured the same way and printed as the
same JSON line: the same inputs, 2 unmeasured warm-up rounds, rounds/s over the measured wall
time, process CPU (all threads) per round, peak RSS, awaited Backward with gradients of ones.

    python dendrite-py/bench/bench.py --endpoints FILE --synapse last_hidden --rounds 10 \
        --batch 10 --seq 20 [--backward] [--timeout S]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch

import dendrite_rs

WARMUP_ROUNDS = 2


def context_switches() -> int:
    """Voluntary and involuntary context switches of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoints", required=True)
    p.add_argument("--timeout", type=float, default=12)
    p.add_argument("--synapse", default="last_hidden", choices=["last_hidden", "causal_lm", "causal_lm_next"])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--seq", type=int, default=20)
    p.add_argument("--backward", action="store_true")
    args = p.parse_args()

    spec = json.load(open(args.endpoints))
    spec = spec if isinstance(spec, list) else [spec]
    endpoints = [
        dendrite_rs.endpoint(
            version=int(e.get("version", 370)),
            uid=i,
            hotkey=e["hotkey"],
            ip=e["ip"],
            ip_type=4,
            port=int(e["port"]),
            coldkey=e["hotkey"],
        )
        for i, e in enumerate(spec)
    ]
    dendrite = dendrite_rs.dendrite(uri="//Alice", delivery="await", requires_grad=args.backward)
    # The CLI's tokens: (i * 7919) % 50257.
    x = (torch.arange(args.batch * args.seq, dtype=torch.int64) * 7919 % 50257).view(args.batch, args.seq)
    syn = {
        "last_hidden": dendrite_rs.synapse.TextLastHiddenState(),
        "causal_lm": dendrite_rs.synapse.TextCausalLM(),
        "causal_lm_next": dendrite_rs.synapse.TextCausalLMNext(),
    }[args.synapse]
    walls, ok, total = [], 0, 0
    cpu_start, wall_start, switches_start = 0.0, time.perf_counter(), 0
    for round_ in range(WARMUP_ROUNDS + args.rounds):
        if round_ == WARMUP_ROUNDS:
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            switches_start = context_switches()
        t0 = time.perf_counter()
        outputs, codes, _times = dendrite.text(endpoints, [syn], x, timeout=args.timeout)
        if args.backward:
            loss = sum(o.sum() for per_endpoint in outputs for o in per_endpoint if o.requires_grad)
            loss.backward()
        if round_ >= WARMUP_ROUNDS:
            walls.append(time.perf_counter() - t0)
            flat = torch.cat(codes).tolist()
            ok += sum(1 for c in flat if c == 1)
            total += len(flat)
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    switches = context_switches() - switches_start
    walls.sort()
    at = lambda q: walls[round((len(walls) - 1) * q)]  # noqa: E731 - the CLI's percentile
    print(
        json.dumps(
            {
                "client": "dendrite_rs-python",
                "synapse": args.synapse,
                "endpoints": len(endpoints),
                "batch": args.batch,
                "seq": args.seq,
                "rounds": args.rounds,
                "backward": args.backward,
                "round_s_p50": at(0.5),
                "round_s_p99": at(0.99),
                "rounds_per_s": args.rounds / wall,
                "calls_per_s": total / wall,
                "success_rate": ok / max(total, 1),
                "client_cpu_s": cpu,
                "client_cpu_s_per_round": cpu / args.rounds,
                "context_switches_per_round": switches / args.rounds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
