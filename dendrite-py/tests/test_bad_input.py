"""Bad input is a Python exception with a one-line message, raised before any RPC; a hostile
peer is a code, never a crash."""

from __future__ import annotations

import socket
import threading
from typing import Any

import bittensor
import numpy as np
import pytest
import torch

import dendrite_rs


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert message and "\n" not in message, message
    return message


def test_wrong_synapse_type_is_a_value_error(rs_dendrite: Any, toy_axon: Any) -> None:
    # The reference raises UnboundLocalError here (it formats an undefined name).
    with pytest.raises(ValueError) as e:
        rs_dendrite.text_causal_lm(toy_axon.endpoint(), "hi", bittensor.synapse.TextLastHiddenState())
    assert "TEXT_CAUSAL_LM" in one_line(e)
    with pytest.raises(ValueError):
        rs_dendrite.text_causal_lm_next(toy_axon.endpoint(), "hi", dendrite_rs.synapse.TextCausalLM())
    with pytest.raises(ValueError):
        rs_dendrite.text_last_hidden_state(toy_axon.endpoint(), "hi", synapse=dendrite_rs.synapse.TextSeq2Seq())


@pytest.mark.parametrize(
    "endpoints,inputs",
    [
        ("not an endpoint", "hi"),
        ([], "hi"),
        (None, "hi"),
        (torch.zeros(3, 2, 250, dtype=torch.int64), "hi"),
        (torch.full((250,), 7, dtype=torch.int64), "hi"),  # not JSON
        (torch.zeros(12, dtype=torch.int64), "hi"),
        ("ENDPOINT", torch.zeros(2, 3, 4, 5)),  # rank 4
        ("ENDPOINT", torch.zeros(3, 2, 2, dtype=torch.int64)),  # [n, B, S] with n != endpoints
        ("ENDPOINT", [torch.zeros(1, 2, dtype=torch.int64)] * 2),  # 2 inputs, 1 endpoint
        ("ENDPOINT", 42),
        ("ENDPOINT", ["a", 3]),
    ],
)
def test_bad_endpoints_and_inputs(rs_dendrite: Any, toy_axon: Any, endpoints: Any, inputs: Any) -> None:
    endpoints = toy_axon.endpoint() if isinstance(endpoints, str) and endpoints == "ENDPOINT" else endpoints
    with pytest.raises(ValueError) as e:
        rs_dendrite.text_last_hidden_state(endpoints, inputs)
    one_line(e)


def test_bad_settings(wallet: Any, tmp_path: Any) -> None:
    for kwargs in (
        dict(timeout=float("nan")),
        dict(timeout=-1),
        dict(timeout=1e30),
        dict(compression="brotli"),
        dict(max_active_receptors=0),
        dict(delivery="sometimes"),
        dict(prometheus_level="LOUD"),
        dict(k_min=None, timeout_after_k_min=1.0),
        dict(_mock=True),
    ):
        with pytest.raises(ValueError) as e:
            dendrite_rs.dendrite(wallet=wallet, **kwargs)
        one_line(e)
    with pytest.raises(ValueError) as e:
        dendrite_rs.dendrite(wallet=str(tmp_path / "no-such-hotkey"))
    assert "no-such-hotkey" in one_line(e)
    with pytest.raises(ValueError) as e:
        dendrite_rs.dendrite(uri="seven words that are not a mnemonic")
    one_line(e)


def test_bad_endpoint_fields() -> None:
    hotkey = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    for fields in (
        dict(port=0),
        dict(ip="300.1.2.3"),
        dict(ip_type=5),
        dict(hotkey="short"),
        dict(version=0),
    ):
        args = dict(version=370, uid=0, hotkey=hotkey, ip="127.0.0.1", ip_type=4, port=8091, coldkey=hotkey)
        args.update(fields)
        with pytest.raises((ValueError, OverflowError)) as e:
            dendrite_rs.endpoint(**args)
        one_line(e)


def test_bad_timeout_per_call(rs_dendrite: Any, toy_axon: Any) -> None:
    with pytest.raises(ValueError) as e:
        rs_dendrite.text_last_hidden_state(toy_axon.endpoint(), "hi", timeout=float("inf"))
    one_line(e)


def test_unsupported_array_dtype_is_a_type_error(rs_dendrite: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        dendrite_rs.Endpoint.from_tensor(np.array(["x"] * 250))


def test_hostile_peer_is_a_code(rs_dendrite: Any, toy_axon: Any) -> None:
    """A peer that answers garbage bytes and hangs up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00" + bytes(range(256)) * 64)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    hostile = toy_axon.endpoint(uid=3)
    hostile.port = port
    outputs, codes, _ = rs_dendrite.text_last_hidden_state(
        [hostile, toy_axon.endpoint()], "hi", timeout=3, all_endpoints=True
    )
    assert codes.tolist()[1] == 1 and codes.tolist()[0] not in (0, 1)
    assert not outputs[0].detach().any()
    server.close()
