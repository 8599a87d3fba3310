"""``format_text_inputs``: the reference's accepted endpoint and input forms, checked and broadcast
to one ``[batch, sequence]`` int64 tensor per endpoint (``dendrite_impl.format_text_inputs``).

Every mistake is a ``ValueError`` raised before any RPC.
"""

from __future__ import annotations

from typing import Any, List, Tuple

import numpy as np
import torch

from . import _convert, _native


def _cast_and_check(tensor: Any) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise ValueError(f"input {tensor!r} must be a torch tensor")
    if tensor.dtype != torch.int64:
        try:
            tensor = tensor.to(torch.int64)
        except Exception as e:  # noqa: BLE001 - reported as the reference does
            raise ValueError(f"Error while casting tensor input {tensor} to int64 {e}") from None
    if tensor.dim() == 1:
        tensor = tensor.view(1, -1)
    if tensor.dim() != 2:
        raise ValueError("Text inputs should be rank 2 with semantic shape: [batch_size, sequence_len]")
    return tensor


def _is_int_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and not value.is_floating_point() and not value.is_complex()


def format_endpoints(endpoints: Any) -> List[_native.Endpoint]:
    """Endpoints in any of the reference's forms as a list of :class:`dendrite_rs.Endpoint`."""
    if _convert.is_endpoint(endpoints):
        return [_convert.endpoint(endpoints)]
    if isinstance(endpoints, list) and endpoints and _convert.is_endpoint(endpoints[0]):
        return [_convert.endpoint(e) for e in endpoints]
    if _is_int_tensor(endpoints) or isinstance(endpoints, np.ndarray):
        if endpoints.ndim not in (1, 2):
            raise ValueError(f"Endpoints tensor should have semantic shape [n, 250], got {list(endpoints.shape)}")
        return _convert.endpoints_from_tensor(endpoints)
    if isinstance(endpoints, list) and endpoints and _is_int_tensor(endpoints[0]):
        formatted: List[_native.Endpoint] = []
        for tensor in endpoints:
            if not _is_int_tensor(tensor) or tensor.dim() not in (1, 2):
                shape = list(tensor.shape) if hasattr(tensor, "shape") else type(tensor).__name__
                raise ValueError(f"Endpoints tensor should have semantic shape [n, 250], got {shape}")
            formatted.extend(_convert.endpoints_from_tensor(tensor))
        return formatted
    raise ValueError(
        "Endpoints should have one of the following types: a single endpoint tensor shape [250], "
        "a set of endpoint tensors shape [n, 250], a list of endpoint tensors each of shape [250], "
        f"a single endpoint object, a list of endpoint objects. Got {type(endpoints).__name__}"
    )


def format_inputs(inputs: Any, n_endpoints: int) -> List[torch.Tensor]:
    """Inputs in any of the reference's forms as one int64 ``[B, S]`` tensor per endpoint."""
    if isinstance(inputs, str):
        tokens = torch.tensor([_native.tokenize(inputs)], dtype=torch.int64)
        tokens = _cast_and_check(tokens)
        return [tokens for _ in range(n_endpoints)]
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], str):
        if not all(isinstance(text, str) for text in inputs):
            raise ValueError("a list of text inputs must hold only strings")
        tokens = _cast_and_check(torch.from_numpy(_native.tokenize_batch(inputs)))
        return [tokens for _ in range(n_endpoints)]
    if isinstance(inputs, torch.Tensor) and inputs.dim() <= 2:
        tokens = _cast_and_check(inputs)
        return [tokens for _ in range(n_endpoints)]
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 3 and inputs.shape[0] == n_endpoints:
        return [_cast_and_check(t) for t in torch.unbind(inputs)]
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], torch.Tensor):
        return [_cast_and_check(t) for t in inputs]
    raise ValueError(
        "Inputs should have one of the following types: a single string, a list of strings, "
        "a tensor with shape [batch_size, sequence_len], a tensor with shape "
        f"[n, batch_size, sequence_len], a list of tensors. Got {type(inputs).__name__}"
    )


def format_text_inputs(endpoints: Any, inputs: Any) -> Tuple[List[_native.Endpoint], List[torch.Tensor]]:
    """The reference's ``format_text_inputs``: ``(endpoints, inputs)`` of equal length."""
    formatted_endpoints = format_endpoints(endpoints)
    formatted_inputs = format_inputs(inputs, len(formatted_endpoints))
    if len(formatted_inputs) != len(formatted_endpoints):
        raise ValueError(
            "List of text inputs should have the same length as passed destination endpoints, "
            f"got {len(formatted_inputs)} and {len(formatted_endpoints)}"
        )
    return formatted_endpoints, formatted_inputs
