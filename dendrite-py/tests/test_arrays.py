"""Arrays across the boundary: answers are lent to numpy without a copy where nothing else holds
them, shared zeros are copied (writing into one output never changes another), every dtype
round-trips."""

from __future__ import annotations

from typing import Any

import numpy as np

import dendrite_rs


def test_answers_are_lent_without_a_copy(rs_dendrite: Any, toy_axon: Any, dead_endpoint: Any) -> None:
    endpoints = [dendrite_rs._convert.endpoint(e) for e in (toy_axon.endpoint(), dead_endpoint, dead_endpoint)]
    synapse = dendrite_rs.synapse.TextLastHiddenState()
    inputs = [np.array([[1, 2, 3]], dtype=np.int64)] * 3
    results = rs_dendrite._client.forward(endpoints, [synapse], inputs, 5.0)
    outputs, codes, times, messages = results.outputs, results.codes, results.times, results.messages
    assert codes.tolist() == [1, 4, 4] and codes.dtype == np.int64 and times.dtype == np.float32
    assert type(outputs[0].base).__name__ == "TensorBuffer"  # the decoded answer itself
    assert outputs[0].flags.c_contiguous and outputs[0].flags.writeable
    assert "Unavailable" in messages[1] or messages[1]
    # The two non-responses come from one shared zero tensor: each got its own copy.
    outputs[1][0, 0, 0] = 42.0
    assert outputs[2][0, 0, 0] == 0.0 and outputs[1].base is not outputs[2].base


def test_endpoint_tensor_round_trip(toy_axon: Any) -> None:
    ours = dendrite_rs._convert.endpoint(toy_axon.endpoint(uid=5))
    array = ours.to_numpy()
    assert array.dtype == np.int64 and array.shape == (250,)
    assert np.array_equal(array, toy_axon.endpoint(uid=5).to_tensor().numpy())
    assert dendrite_rs.Endpoint.from_tensor(array) == ours
    assert dendrite_rs.Endpoint.from_tensor(np.full(250, -1)).is_serving is False


def test_tokenizer_matches_bittensor() -> None:
    import bittensor

    tokenizer = bittensor.tokenizer()
    texts = ["hello world", "Ünïcödé and emoji 🚀", "a b c", ""]
    for text in texts:
        assert dendrite_rs.tokenize(text) == tokenizer(text)["input_ids"]
    batch = tokenizer(texts[:3], padding=True, truncation=True)["input_ids"]
    assert dendrite_rs.tokenize_batch(texts[:3]).tolist() == batch
    assert dendrite_rs.detokenize(batch[1]) == tokenizer.decode(batch[1])
