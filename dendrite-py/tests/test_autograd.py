"""loss.backward() delivers gradients to our axon (which records them), in both deliveries;
torch.no_grad() and requires_grad=False send nothing; the reference's graph semantics hold."""

from __future__ import annotations

import time
from typing import Any

import bittensor
import torch
from conftest import wait_for

import dendrite_rs


def mine(axon: Any, hotkey: str, since: int) -> list:
    return [g for g in axon.gradients()[since:] if g["caller"] == hotkey]


def test_backward_delivers_the_gradient_awaited(rs_dendrite: Any, toy_axon: Any) -> None:
    before = len(toy_axon.gradients())
    outputs, codes, _ = rs_dendrite.text_last_hidden_state(toy_axon.endpoint(), "hello world")
    assert outputs[0].requires_grad and codes.tolist() == [1]
    (outputs[0] * 3).sum().backward()
    answer_codes, _messages = rs_dendrite.last_backward
    assert answer_codes.tolist() == [1]
    received = wait_for(lambda: mine(toy_axon, rs_dendrite.hotkey, before))
    assert len(received) == 1
    grad = received[0]
    assert grad["synapse"] == "TextLastHiddenState"
    assert grad["shape"] == [1, 2, 1024] and grad["input_shape"] == [1, 2]
    assert grad["sum"] == 3 * 2 * 1024 and grad["first"] == [3.0] * 8


def test_backward_detached_and_per_synapse(wallet: Any, toy_axon: Any, dead_endpoint: Any) -> None:
    d = dendrite_rs.dendrite(wallet=wallet)  # fire-and-forget, as the reference means to
    before = len(toy_axon.gradients())
    synapses = [
        dendrite_rs.synapse.TextLastHiddenState(),
        dendrite_rs.synapse.TextCausalLM(topk=4),
        dendrite_rs.synapse.TextSeq2Seq(num_to_generate=3, num_beams=1),
    ]
    outputs, codes, _ = d.text([toy_axon.endpoint(), dead_endpoint], synapses, torch.tensor([[1, 2, 3]]))
    assert [c.tolist() for c in codes] == [[1, 1, 1], [4, 4, 4]]
    assert [o.requires_grad for o in outputs[0]] == [True, True, False]
    loss = outputs[0][0].sum() + outputs[0][1].mean() + outputs[1][0].sum()
    loss.backward()
    received = wait_for(lambda: len(mine(toy_axon, d.hotkey, before)) >= 3 and mine(toy_axon, d.hotkey, before))
    assert sorted(g["synapse"] for g in received) == ["TextCausalLM", "TextLastHiddenState", "TextSeq2Seq"]
    by_name = {g["synapse"]: g for g in received}
    assert by_name["TextLastHiddenState"]["sum"] == 3 * 1024
    assert by_name["TextCausalLM"]["shape"] == [1, 3, 50258]


def test_no_grad_and_requires_grad_off_send_nothing(wallet: Any, toy_axon: Any) -> None:
    d = dendrite_rs.dendrite(wallet=wallet, delivery="await")
    before = len(toy_axon.gradients())
    with torch.no_grad():
        outputs, _, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello")
    assert not outputs[0].requires_grad
    outputs, codes, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello", requires_grad=False)
    assert codes.tolist() == [1] and outputs[0].requires_grad  # in the graph, as the reference
    outputs[0].sum().backward()
    off = dendrite_rs.dendrite(wallet=wallet, requires_grad=False, delivery="await")
    outputs, _, _ = off.text_last_hidden_state(toy_axon.endpoint(), "hello")
    outputs[0].sum().backward()
    assert d.last_backward is None and off.last_backward is None
    time.sleep(0.3)
    assert mine(toy_axon, d.hotkey, before) == []


def test_graph_semantics_match_the_reference(bt_dendrite: Any, rs_dendrite: Any, toy_axon: Any) -> None:
    for d in (bt_dendrite, rs_dendrite):
        outputs, codes, _ = d.text_causal_lm(toy_axon.endpoint(), "hello world", bittensor.synapse.TextCausalLM(topk=4))
        assert outputs[0].grad_fn is not None and not outputs[0].is_leaf
        assert codes.dtype == torch.int64 and not codes.requires_grad
    _, _, times = rs_dendrite.text_causal_lm(toy_axon.endpoint(), "x")
    assert not times.requires_grad  # non-differentiable, as the issue asks (3.7.0's times require grad)
