"""``Dendrite.last_phases``: where each endpoint's call went, with the semantics the Rust core pins
(a closed port's time is ``connect``, a black hole's is ``wait``), in the keys of ``--json`` rows."""

from __future__ import annotations

from typing import Any

import bittensor

PHASES = ["queue", "sign", "connect", "send", "wait", "receive", "decode"]


def test_last_phases_say_where_each_call_went(
    rs_dendrite: Any, toy_axon: Any, dead_endpoint: Any, black_hole: int
) -> None:
    hole = toy_axon.endpoint(uid=9)
    hole.port = black_hole
    synapse = bittensor.synapse.TextLastHiddenState()
    codes, times = [], []
    for _ in range(2):
        _, c, t = rs_dendrite.text([toy_axon.endpoint(), dead_endpoint, hole], [synapse], "hello world", timeout=1)
        codes, times = c.flatten().tolist(), t.flatten().tolist()
    assert codes == [1, 4, 2]  # Success, Unavailable, Timeout
    live, closed, waited = rs_dendrite.last_phases
    for phases, time in zip(rs_dendrite.last_phases, times):
        assert list(phases) == [*PHASES, "reused_connection"]
        assert sum(phases[p] for p in PHASES) <= time + 1e-6
    assert live["reused_connection"] is True and live["connect"] == 0.0  # the second round
    assert live["wait"] > 0 and live["decode"] > 0
    assert max(PHASES, key=lambda p: closed[p]) == "connect"
    assert closed["wait"] == closed["receive"] == closed["decode"] == 0.0
    assert max(PHASES, key=lambda p: waited[p]) == "wait" and waited["wait"] > 0.5
