"""One dendrite_rs round after another (timeout=1.0) for SECONDS, printing each round's wall time:
the client side of xtask/py/starvation.sh."""

import json
import sys
import time

import torch

import dendrite_rs

spec = json.load(open(sys.argv[1]))
endpoints = [
    dendrite_rs.endpoint(
        version=370, uid=i, hotkey=e["hotkey"], ip=e["ip"], ip_type=4, port=int(e["port"]), coldkey=e["hotkey"]
    )
    for i, e in enumerate(spec)
]
dendrite = dendrite_rs.dendrite(uri="//Alice", delivery="await")
synapse = dendrite_rs.synapse.TextLastHiddenState()
tokens = torch.tensor([[10, 20, 30, 40]])
start = time.monotonic()
while time.monotonic() - start < float(sys.argv[2]):
    t0 = time.monotonic()
    _, codes, _ = dendrite.text(endpoints, [synapse], tokens, timeout=1.0)
    wall = time.monotonic() - t0
    flat = torch.cat(codes).tolist()
    print(f"+{t0 - start:6.2f} s  round {wall:7.3f} s  success {flat.count(1)}/{len(flat)}", flush=True)
    time.sleep(0.1)
