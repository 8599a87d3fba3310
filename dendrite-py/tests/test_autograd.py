"""The autograd function's graph next to the reference's (gradient delivery itself is tested in
`tests_standalone/test_autograd.py`, which also runs under torch 2.x)."""

from __future__ import annotations

from typing import Any

import bittensor
import torch


def test_graph_semantics_match_the_reference(bt_dendrite: Any, rs_dendrite: Any, toy_axon: Any) -> None:
    for d in (bt_dendrite, rs_dendrite):
        outputs, codes, _ = d.text_causal_lm(toy_axon.endpoint(), "hello world", bittensor.synapse.TextCausalLM(topk=4))
        assert outputs[0].grad_fn is not None and not outputs[0].is_leaf
        assert codes.dtype == torch.int64 and not codes.requires_grad
    _, _, times = rs_dendrite.text_causal_lm(toy_axon.endpoint(), "x")
    assert not times.requires_grad  # non-differentiable, as the issue asks (3.7.0's times require grad)
