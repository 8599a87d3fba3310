"""`cargo xtask bench`'s Python face: the workload of `../shared/peer/dendrite.py bench`, driven
through `dendrite_rs` (no bittensor imported), printing the same JSON line.

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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoints", required=True)
    p.add_argument("--hotkey-uri", default="//Alice")
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
        dendrite_rs.endpoint(version=int(e.get("version", 370)), uid=i, hotkey=e["hotkey"], ip=e["ip"],
                             ip_type=4, port=int(e["port"]), coldkey=e["hotkey"])
        for i, e in enumerate(spec)
    ]
    dendrite = dendrite_rs.dendrite(uri=args.hotkey_uri, prometheus_level="OFF")
    torch.manual_seed(0)
    x = torch.randint(0, 50257, (args.batch, args.seq), dtype=torch.int64)
    syn = {
        "last_hidden": dendrite_rs.synapse.TextLastHiddenState(),
        "causal_lm": dendrite_rs.synapse.TextCausalLM(),
        "causal_lm_next": dendrite_rs.synapse.TextCausalLMNext(),
    }[args.synapse]
    walls, ok, total = [], 0, 0
    cpu0 = time.process_time()
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        outputs, codes, _times = dendrite.text(endpoints, [syn], x, timeout=args.timeout, requires_grad=args.backward)
        if args.backward:
            loss = sum(o.float().sum() for per_endpoint in outputs for o in per_endpoint)
            loss.backward()
        walls.append(time.perf_counter() - t0)
        flat = torch.cat(codes).tolist()
        ok += sum(1 for c in flat if c == 1)
        total += len(flat)
    walls.sort()
    print(json.dumps({
        "client": "dendrite_rs-python", "synapse": args.synapse, "endpoints": len(endpoints),
        "batch": args.batch, "seq": args.seq, "rounds": args.rounds, "backward": args.backward,
        "round_s_p50": walls[len(walls) // 2], "round_s_p99": walls[min(len(walls) - 1, int(len(walls) * 0.99))],
        "calls_per_s": total / sum(walls), "success_rate": ok / max(total, 1),
        "client_cpu_s": time.process_time() - cpu0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }), flush=True)


if __name__ == "__main__":
    main()
