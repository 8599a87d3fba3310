"""dendrite_rs in an environment without bittensor: its own endpoints, synapses and keys, every
call, gradients delivered, and a clear error where bittensor is needed (install())."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest
import torch
from conftest import wait_for

import dendrite_rs


def test_bittensor_is_not_installed() -> None:
    assert importlib.util.find_spec("bittensor") is None
    with pytest.raises(ImportError):
        dendrite_rs.install()


def endpoint(axon: Any, uid: int = 0) -> dendrite_rs.Endpoint:
    info = axon.info
    return dendrite_rs.endpoint(370, uid, info["hotkey"], info["ip"], 4, int(info["port"]), coldkey=info["hotkey"])


def test_every_call(toy_axon: Any) -> None:
    d = dendrite_rs.dendrite(uri="//Alice")
    e = endpoint(toy_axon)
    outputs, codes, times = d.text_last_hidden_state(e, "hello world")
    assert outputs[0].shape == (1, 2, 1024) and codes.tolist() == [1] and times.dtype == torch.float32
    outputs, codes, _ = d.text_causal_lm([e, e], "hi", dendrite_rs.synapse.TextCausalLM(topk=4))
    assert outputs[0].shape == (1, 1, 50258)
    outputs, codes, _ = d.text_causal_lm_next(e, torch.tensor([[1, 2]]), dendrite_rs.synapse.TextCausalLMNext(topk=4))
    assert codes.tolist() == [1] and outputs[0].dim() == 3
    codes, times, generations = d.generate(e, "hello", num_to_generate=4, num_beams=1)
    assert codes == ["Success"] and isinstance(generations[0], str) and generations[0]
    rows = torch.stack([torch.from_numpy(e.to_numpy())] * 2)  # the [n, 250] endpoint form
    outputs, codes, _ = d.text(rows, [dendrite_rs.synapse.TextSeq2Seq()], "x")
    assert [c.tolist() for c in codes] == [[1], [1]] and outputs[0][0].dtype == torch.int64


def test_gradients_arrive(toy_axon: Any) -> None:
    d = dendrite_rs.dendrite(uri="//Alice", delivery="await")
    before = len(toy_axon.gradients())
    outputs, _, _ = d.text_last_hidden_state(endpoint(toy_axon), "hello world")
    (outputs[0] * 2).sum().backward()
    assert d.last_backward[0].tolist() == [1]
    received = wait_for(lambda: toy_axon.gradients()[before:])
    assert [g["sum"] for g in received] == [2 * 2 * 1024]


def test_keys_from_a_hotkey_file(toy_axon: Any, tmp_path: Any) -> None:
    phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    hotkey = tmp_path / "hotkey"
    hotkey.write_text(json.dumps({"secretPhrase": phrase}))
    d = dendrite_rs.dendrite(wallet=str(hotkey))
    assert d.hotkey == dendrite_rs.dendrite(uri=phrase).hotkey
    _, codes, _ = d.text_last_hidden_state(endpoint(toy_axon), "hi")
    assert codes.tolist() == [1]


def test_config_without_bittensor(monkeypatch: Any) -> None:
    monkeypatch.setenv("BT_DENDRITE_TIMEOUT", "3.5")
    monkeypatch.setenv("BT_DENDRITE_REQUIRES_GRAD", "false")
    config = dendrite_rs.dendrite.config([])
    assert config.dendrite.timeout == 3.5 and config.dendrite.requires_grad is False
    assert "timeout" in config.dendrite
    d = dendrite_rs.dendrite(config=config, uri="//Alice")
    assert d._client.timeout == 3.5
    monkeypatch.setenv("BT_DENDRITE_TIMEOUT", "soon")
    with pytest.raises(ValueError):
        dendrite_rs.dendrite.config([])
