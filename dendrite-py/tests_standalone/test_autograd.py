"""loss.backward() delivers gradients to our axon (which records them), awaited and detached, per
synapse; torch.no_grad() and requires_grad=False send nothing. Run with torch 1.13 and 2.x."""

from __future__ import annotations

import time
from typing import Any

import torch
from conftest import wait_for

import dendrite_rs


def mine(axon: Any, hotkey: str, since: int) -> list:
    return [g for g in axon.gradients()[since:] if g["caller"] == hotkey]


def test_backward_delivers_the_gradient_awaited(dendrite: Any, toy_axon: Any) -> None:
    before = len(toy_axon.gradients())
    outputs, codes, _ = dendrite.text_last_hidden_state(toy_axon.endpoint(), "hello world")
    assert outputs[0].requires_grad and codes.tolist() == [1]
    (outputs[0] * 3).sum().backward()  # a broadcast gradient: the layout numpy lays out
    answer_codes, _messages = dendrite.last_backward
    assert answer_codes.tolist() == [1]
    received = wait_for(lambda: mine(toy_axon, dendrite.hotkey, before))
    assert len(received) == 1
    grad = received[0]
    assert grad["synapse"] == "TextLastHiddenState"
    assert grad["shape"] == [1, 2, 1024] and grad["input_shape"] == [1, 2]
    assert grad["sum"] == 3 * 2 * 1024 and grad["first"] == [3.0] * 8


def test_a_contiguous_gradient_arrives_exactly(dendrite: Any, toy_axon: Any) -> None:
    before = len(toy_axon.gradients())
    outputs, _, _ = dendrite.text_last_hidden_state(toy_axon.endpoint(), "hello world")
    weights = torch.arange(2 * 1024, dtype=torch.float32).view(1, 2, 1024) / 1024
    (outputs[0] * weights).sum().backward()
    received = wait_for(lambda: mine(toy_axon, dendrite.hotkey, before))
    assert received[0]["first"] == [i / 1024 for i in range(8)]
    assert received[0]["sum"] == float(weights.double().sum())


def test_backward_detached_and_per_synapse(toy_axon: Any, closed_port: int) -> None:
    d = dendrite_rs.dendrite(uri="//Alice")  # fire-and-forget, as the reference means to
    before = len(toy_axon.gradients())
    synapses = [
        dendrite_rs.synapse.TextLastHiddenState(),
        dendrite_rs.synapse.TextCausalLM(topk=4),
        dendrite_rs.synapse.TextSeq2Seq(num_to_generate=3, num_beams=1),
    ]
    dead = toy_axon.endpoint(uid=7, port=closed_port)
    outputs, codes, _ = d.text([toy_axon.endpoint(), dead], synapses, torch.tensor([[1, 2, 3]]))
    assert [c.tolist() for c in codes] == [[1, 1, 1], [4, 4, 4]]
    assert [o.requires_grad for o in outputs[0]] == [True, True, False]
    loss = outputs[0][0].sum() + outputs[0][1].mean() + outputs[1][0].sum()
    loss.backward()
    received = wait_for(lambda: len(mine(toy_axon, d.hotkey, before)) >= 3 and mine(toy_axon, d.hotkey, before))
    assert sorted(g["synapse"] for g in received) == ["TextCausalLM", "TextLastHiddenState", "TextSeq2Seq"]
    by_name = {g["synapse"]: g for g in received}
    assert by_name["TextLastHiddenState"]["sum"] == 3 * 1024
    assert by_name["TextCausalLM"]["shape"] == [1, 3, 50258]


def test_no_grad_and_requires_grad_off_send_nothing(toy_axon: Any) -> None:
    d = dendrite_rs.dendrite(uri="//Alice", delivery="await")
    before = len(toy_axon.gradients())
    with torch.no_grad():
        outputs, _, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello")
    assert not outputs[0].requires_grad
    outputs, codes, _ = d.text_last_hidden_state(toy_axon.endpoint(), "hello", requires_grad=False)
    assert codes.tolist() == [1] and outputs[0].requires_grad  # in the graph, as the reference
    outputs[0].sum().backward()
    off = dendrite_rs.dendrite(uri="//Alice", requires_grad=False, delivery="await")
    outputs, _, _ = off.text_last_hidden_state(toy_axon.endpoint(), "hello")
    outputs[0].sum().backward()
    assert d.last_backward is None and off.last_backward is None
    time.sleep(0.3)
    assert mine(toy_axon, d.hotkey, before) == []
