#!/usr/bin/env bash
# Memory starvation, reproduced inside a memory cgroup (v1 or v2) so the rest of the machine is
# spared: 16 toy axons and a dendrite_rs client (timeout=1.0, one round after another) share
# the cgroup with a neighbour that allocates until the kernel reclaims and finally OOM-kills it.
# Prints one line per round: seconds since start, the round's wall time, and the codes.
# Needs root (cgroups), the release binaries and the peer venv with dendrite_rs installed:
#   cargo build --release -p dendrite-axon --bin toy-axons
#   bash xtask/py/starvation.sh "$(bash ../shared/peer/setup.sh | tail -1)" [LIMIT_MB]
set -euo pipefail
python=$1; limit_mb=${2:-1200}
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
run=$(mktemp -d)
if [ -d /sys/fs/cgroup/memory ]; then
  group=/sys/fs/cgroup/memory/dendrite-starvation; mkdir -p "$group"
  echo $((limit_mb << 20)) > "$group/memory.limit_in_bytes"
else
  group=/sys/fs/cgroup/dendrite-starvation; mkdir -p "$group"
  echo $((limit_mb << 20)) > "$group/memory.max"
fi
enter() { echo "$1" > "$group/cgroup.procs"; }
enter $$
# toy-axons stops when its stdin closes: keep it open.
"$root/target/release/toy-axons" --count 16 --out "$run/axons.json" --seconds 120 >/dev/null < <(sleep 130) &
axons=$!
until [ -s "$run/axons.json" ]; do sleep 0.2; done
"$python" "$here/starvation_client.py" "$run/axons.json" 40 &
client=$!
sleep 8
echo "# neighbour starts allocating at +8 s" >&2
# Fast to 200 MB below the limit, then 4 MB every 100 ms: the kernel reclaims page cache (the
# processes' code included: there is no swap) for as long as it can before the OOM killer acts.
"$python" -c '
import sys, time
limit = int(sys.argv[1]) << 20
held = []
while True:
    fast = sum(map(len, held)) < limit - (200 << 20)
    held.append(b"\x01" * ((32 if fast else 4) << 20))  # written, so really resident
    time.sleep(0.02 if fast else 0.1)
' "$limit_mb" &
hog=$!
wait $client || true
kill $hog $axons 2>/dev/null || true
wait 2>/dev/null || true
echo "# OOM kills in the cgroup: $(grep -h oom_kill "$group"/memory.oom_control "$group"/memory.events 2>/dev/null | tr '\n' ' ')" >&2
