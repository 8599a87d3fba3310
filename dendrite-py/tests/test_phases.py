"""``Dendrite.last_phases``: where each endpoint's call went, with the semantics the Rust core pins
(a closed port's time is ``connect``, a black hole's is ``wait``, a reused connection connects in no
time), in the keys of ``--json`` rows."""

from __future__ import annotations

from typing import Any, List

import bittensor

PHASES = ["queue", "sign", "connect", "send", "wait", "receive", "decode"]


def flat(per_endpoint: Any) -> List[float]:
    return [float(value) for row in per_endpoint for value in row]


def test_last_phases_say_where_each_call_went(
    rs_dendrite: Any, toy_axon: Any, dead_endpoint: Any, black_hole: int
) -> None:
    hole = toy_axon.endpoint(uid=9)
    hole.port = black_hole
    synapse = bittensor.synapse.TextLastHiddenState()
    _, codes, times = rs_dendrite.text([toy_axon.endpoint(), dead_endpoint, hole], [synapse], "hi", timeout=1)
    assert flat(codes) == [1, 4, 2]  # Success, Unavailable, Timeout
    live, closed, waited = rs_dendrite.last_phases
    for phases, time in zip(rs_dendrite.last_phases, flat(times)):
        assert list(phases) == [*PHASES, "reused_connection"]
        assert sum(phases[p] for p in PHASES) <= time + 1e-6
    assert live["wait"] > 0 and live["decode"] > 0
    network = PHASES[1:]  # after the queue, which three tasks starting at once share
    assert max(network, key=lambda p: closed[p]) == "connect" and closed["connect"] > 0
    assert closed["wait"] == closed["receive"] == closed["decode"] == 0.0
    assert max(network, key=lambda p: waited[p]) == "wait" and waited["wait"] > 0.5

    # The pool keeps one receptor per hotkey (the three above share one): called alone twice,
    # the second call goes out on the first one's connection.
    for _ in range(2):
        rs_dendrite.text([toy_axon.endpoint()], [synapse], "hi", timeout=5)
    (again,) = rs_dendrite.last_phases
    assert again["reused_connection"] is True and again["connect"] == 0.0
