"""The dendrite as a torch autograd function, mirroring the reference's ``Dendrite.forward`` and
``Dendrite.backward``: a DUMMY leaf that requires grad puts the call into the graph whatever the
inputs' dtype; the result is ``(codes, times, *outputs)`` flattened endpoint-major; codes, times
and integer outputs are not differentiable; ``loss.backward()`` sends every endpoint that answered
the gradients of its outputs through Backward RPCs (the Rust core), unless ``requires_grad`` was
off for the call. The RPCs themselves run in Rust without the GIL; this module only moves arrays.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from . import _native
from .codes import SUCCESS

#: The reference's DUMMY: a leaf that requires grad, so that int64 inputs (which cannot) still put
#: the call into the graph.
DUMMY = torch.empty(0, requires_grad=True)


def input_arrays(inputs: Sequence[torch.Tensor]) -> List[np.ndarray]:
    """Each input as a contiguous int64 numpy array on the CPU (shared, not copied, where it is
    one already); the same tensor object given for several endpoints is converted once."""
    arrays: List[np.ndarray] = []
    for i, tensor in enumerate(inputs):
        if i and tensor is inputs[i - 1]:
            arrays.append(arrays[-1])
            continue
        arrays.append(np.ascontiguousarray(tensor.detach().to("cpu", torch.int64).numpy()))
    return arrays


def forward_results(
    dendrite: Any, endpoints: List[Any], synapses: List[Any], timeout: Optional[float], inputs: Sequence[torch.Tensor]
) -> Tuple[torch.Tensor, ...]:
    """``(codes, times, *outputs)`` of a forward outside the graph (grad mode off)."""
    results = dendrite._client.forward(endpoints, synapses, input_arrays(inputs), timeout)
    dendrite._last_phases = (results.phases, results.reused_connection)
    return (
        torch.from_numpy(results.codes),
        torch.from_numpy(results.times),
        *[torch.from_numpy(o) for o in results.outputs],
    )


class DendriteFunction(torch.autograd.Function):
    """``apply(dendrite, DUMMY, endpoints, synapses, timeout, requires_grad, *inputs)``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        dendrite: Any,
        dummy: torch.Tensor,
        endpoints: List[Any],
        synapses: List[Any],
        timeout: Optional[float],
        requires_grad: bool,
        *inputs: torch.Tensor,
    ) -> Tuple[torch.Tensor, ...]:
        """The forward call: every synapse to every endpoint; outputs, codes and times."""
        arrays = input_arrays(inputs)
        results = dendrite._client.forward(endpoints, synapses, arrays, timeout)
        dendrite._last_phases = (results.phases, results.reused_connection)
        codes = results.codes
        codes_t = torch.from_numpy(codes)
        times_t = torch.from_numpy(results.times)
        outputs_t = [torch.from_numpy(o) for o in results.outputs]
        ctx.dendrite = dendrite
        ctx.endpoints, ctx.synapses, ctx.timeout = endpoints, synapses, timeout
        ctx.does_requires_grad = requires_grad
        ctx.inputs = arrays
        ctx.codes = codes
        ctx.shapes = [tuple(o.shape) for o in outputs_t]
        ctx.mark_non_differentiable(codes_t, times_t, *[o for o in outputs_t if not o.is_floating_point()])
        return (codes_t, times_t, *outputs_t)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, _code_grads: Any, _time_grads: Any, *output_grads: torch.Tensor) -> Tuple[None, ...]:  # type: ignore[override]
        """Sends the outputs' gradients to the endpoints that answered; the inputs take none."""
        if ctx.does_requires_grad:
            send_gradients(ctx, output_grads)
        # The inputs are token ids: they take no gradient.
        return (None,) * (6 + len(ctx.inputs))


def send_gradients(ctx: Any, output_grads: Sequence[Optional[torch.Tensor]]) -> None:
    """Packs the output gradients per endpoint × synapse and sends them to every endpoint that
    answered (zeros for synapses that did not answer; nothing for seq2seq, which takes none)."""
    n_synapses = len(ctx.synapses)
    answered = (ctx.codes.reshape(-1, n_synapses) == SUCCESS).tolist() if n_synapses else []
    endpoints, inputs, grads = [], [], []
    # The Rust core's rule: which endpoints get a Backward, and per synapse 0 its gradient,
    # 1 zeros (it did not answer), 2 nothing (it takes no gradient).
    for e, choices in _native.backward_plan(ctx.synapses, answered):
        per_synapse = []
        for s, choice in enumerate(choices):
            index = e * n_synapses + s
            grad = output_grads[index]
            if choice == 2:
                per_synapse.append(np.zeros(0, dtype=np.float32))
            elif choice == 1 or grad is None:
                per_synapse.append(np.zeros(ctx.shapes[index], dtype=np.float32))
            else:
                # Any layout: the extension copies it once (after numpy lays out a broadcast one).
                per_synapse.append(grad.detach().to("cpu", torch.float32).numpy())
        endpoints.append(ctx.endpoints[e])
        inputs.append(ctx.inputs[e])
        grads.append(per_synapse)
    if endpoints:
        ctx.dendrite._deliver_gradients(endpoints, ctx.synapses, inputs, grads, ctx.timeout)
