"""Our options beyond the reference, from Python: backoff, quorum, CMPPACK, compression, the
Prometheus exporter and the core's per-endpoint statistics."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import torch

import dendrite_rs


def test_backoff_skips_a_failing_endpoint(wallet: Any, dead_endpoint: Any) -> None:
    d = dendrite_rs.dendrite(wallet=wallet, backoff=30)
    _, first, _ = d.text_last_hidden_state(dead_endpoint, "hi", timeout=2)
    _, second, _ = d.text_last_hidden_state(dead_endpoint, "hi", timeout=2)
    assert first.tolist() == [4] and second.tolist() == [3]  # Unavailable, then Backoff
    assert d.counters()["backing_off"] == 1


def test_quorum_returns_without_the_stragglers(wallet: Any, toy_axon: Any, black_hole: int) -> None:
    hole = toy_axon.endpoint(uid=9)
    hole.port = black_hole
    d = dendrite_rs.dendrite(wallet=wallet, k_min=1, timeout_after_k_min=0.05)
    started = time.time()
    outputs, codes, _ = d.text_last_hidden_state([toy_axon.endpoint(), hole], "hi", timeout=10, all_endpoints=True)
    assert time.time() - started < 2
    assert codes.tolist() == [1, 2] and not outputs[1].detach().any()


def test_cmppack_and_gzip_give_the_same_hidden_states(wallet: Any, rs_dendrite: Any, toy_axon: Any) -> None:
    plain, _, _ = rs_dendrite.text_last_hidden_state(toy_axon.endpoint(), "hello world")
    packed = dendrite_rs.dendrite(wallet=wallet, serializer="cmppack", compression="gzip")
    half, codes, _ = packed.text_last_hidden_state(toy_axon.endpoint(), "hello world")
    assert codes.tolist() == [1] and half[0].dtype == torch.float32
    assert torch.allclose(half[0], plain[0], atol=1e-3) and not torch.equal(half[0], plain[0])


def test_metrics_exporter_and_statistics(wallet: Any, toy_axon: Any, dead_endpoint: Any) -> None:
    d = dendrite_rs.dendrite(wallet=wallet, prometheus_level="DEBUG")
    for _ in range(2):
        d.text_last_hidden_state([toy_axon.endpoint(), dead_endpoint], "hi", timeout=2)
    port = d.serve_metrics(0)
    assert d.serve_metrics(0) == port
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'name="total_requests"' in text and "dendrite_latency" in text
    assert text == d.metrics_text() or "dendrite_counters" in d.metrics_text()
    stats = {s["hotkey"]: s for s in d.endpoint_stats()}
    assert stats[toy_axon.info["hotkey"]]["successes"] == 2
    off = dendrite_rs.dendrite(wallet=wallet, prometheus_level="OFF")
    assert off.metrics_text() == "" and off.endpoint_stats() == []
