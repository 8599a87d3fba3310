"""``dendrite_rs.Dendrite``: bittensor 3.7.0's dendrite API (``dendrite_impl.Dendrite``) on the Rust
core, and ``dendrite_rs.dendrite``, its factory with the reference's config helpers.

Return structures, dtypes and devices are the reference's: ``text`` gives
``(outputs, codes, times)`` with ``outputs[i]`` endpoint i's tuple of per-synapse tensors and
``codes[i]``/``times[i]`` its int64/float32 per-synapse tensors; the three single-synapse helpers
give, as 3.7.0 does, **only the first endpoint's** results (``outputs[0], codes[0], times[0]``),
unless called with ``all_endpoints=True``.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Dict, List, Optional, Tuple

import torch

from . import _config, _convert, _format, _native, _stats
from ._autograd import DUMMY, DendriteFunction, forward_results
from .codes import code_to_string

TEXT_LAST_HIDDEN_STATE, TEXT_CAUSAL_LM, TEXT_SEQ2SEQ, TEXT_CAUSAL_LM_NEXT = 1, 2, 3, 4
#: The phases of ``Dendrite.last_phases``, in call order (the Rust core's list).
PHASES: Tuple[str, ...] = _native.PHASES
CMPPACK = 1

#: How ``loss.backward()`` hands gradients to the network.
DELIVERIES = ("detached", "await")


class Dendrite:
    """Queries endpoints with token inputs; outputs join the torch graph and ``loss.backward()``
    sends each answering endpoint its gradients. Build one with :func:`dendrite_rs.dendrite`.
    Safe to share between threads; works in a child process after ``fork``."""

    def __init__(
        self,
        config: Any,
        client: _native.Client,
        wallet: Any = None,
        delivery: str = "detached",
        serializer: Optional[str] = None,
    ) -> None:
        if delivery not in DELIVERIES:
            raise ValueError(f"delivery must be one of {DELIVERIES}, got {delivery!r}")
        if serializer not in (None, "msgpack", "cmppack"):
            raise ValueError(f"serializer must be 'msgpack' or 'cmppack', got {serializer!r}")
        self.config = config
        self.wallet = wallet
        self._client = client
        self.delivery = delivery
        self.serializer = serializer
        self.stats = _stats.init_stats()
        #: ``(codes, messages)`` of the last awaited Backward, flattened endpoint-major.
        self.last_backward: Optional[Tuple[Any, List[str]]] = None
        self._last_phases: Optional[Tuple[Any, Any]] = None

    # ----- the reference's API -----------------------------------------------------------------

    def __str__(self) -> str:
        return f"Dendrite({self._client.hotkey}, {self._client.counters()['receptors']} receptors)"

    def __repr__(self) -> str:
        return self.__str__()

    @property
    def last_phases(self) -> List[Dict[str, Any]]:
        """Where each endpoint's call of the last forward spent its time, in endpoint order: seconds
        in ``queue``, ``sign``, ``connect`` (0 on a reused connection), ``send``, ``wait`` (until the
        response headers), ``receive`` and ``decode``, and ``reused_connection`` (``None`` where no
        RPC was attempted). Phases a failed call did not reach are 0; they never sum past its time."""
        if self._last_phases is None:
            return []
        phases, reused = self._last_phases
        rows = phases.reshape(-1, len(PHASES))
        return [
            {**dict(zip(PHASES, map(float, row))), "reused_connection": None if r < 0 else bool(r)}
            for row, r in zip(rows, reused)
        ]

    @property
    def hotkey(self) -> str:
        """The SS58 address requests are signed with."""
        return self._client.hotkey

    def format_text_inputs(self, endpoints: Any, inputs: Any) -> Tuple[List[Any], List[torch.Tensor]]:
        """The reference's ``format_text_inputs``: endpoints and inputs in any accepted form, as a
        list of endpoints and one int64 ``[B, S]`` tensor per endpoint."""
        return _format.format_text_inputs(endpoints, inputs)

    def _forward(
        self,
        endpoints: List[Any],
        synapses: List[Any],
        inputs: List[torch.Tensor],
        timeout: Optional[float] = None,
        requires_grad: Optional[bool] = None,
    ) -> Tuple[List[Tuple[torch.Tensor, ...]], Tuple[torch.Tensor, ...], Tuple[torch.Tensor, ...]]:
        timeout = float(timeout) if timeout is not None else float(self.config.dendrite.timeout)
        if requires_grad is None:
            requires_grad = bool(self.config.dendrite.requires_grad)
        endpoints = [_convert.endpoint(e) for e in endpoints]
        synapses = _convert.synapses(synapses)
        if not synapses:
            raise ValueError("no synapses given")
        if len(inputs) != len(endpoints):
            raise ValueError(f"{len(endpoints)} endpoints but {len(inputs)} inputs")
        if torch.is_grad_enabled():
            response = DendriteFunction.apply(self, DUMMY, endpoints, synapses, timeout, requires_grad, *inputs)
        else:  # nothing would be recorded: the same results without the graph's bookkeeping
            response = forward_results(self, endpoints, synapses, timeout, inputs)
        n = len(synapses)
        # What the reference's torch.split(codes, n) gives: a tuple of [n] views, one per endpoint.
        codes = response[0].view(-1, n).unbind(0)
        times = response[1].view(-1, n).unbind(0)
        outputs = response[2:]
        packed = [outputs[s : s + n] for s in range(0, len(outputs), n)]
        return packed, codes, times

    def text(
        self,
        endpoints: Any,
        synapses: List[Any],
        inputs: Any,
        timeout: Optional[float] = None,
        requires_grad: Optional[bool] = None,
    ) -> Tuple[List[Tuple[torch.Tensor, ...]], Tuple[torch.Tensor, ...], Tuple[torch.Tensor, ...]]:
        """Every synapse of every endpoint: ``outputs[i][j]``, ``codes[i][j]``, ``times[i][j]``
        for endpoint i, synapse j (zeros of the expected shape where a call failed)."""
        formatted_endpoints, formatted_inputs = self.format_text_inputs(endpoints, inputs)
        synapses = _convert.synapses(synapses)
        outputs, codes, times = self._forward(formatted_endpoints, synapses, formatted_inputs, timeout, requires_grad)
        self.update_stats(formatted_endpoints, synapses, formatted_inputs, outputs, codes, times)
        return outputs, codes, times

    def _single(
        self,
        endpoints: Any,
        inputs: Any,
        synapse: Any,
        timeout: Optional[float],
        requires_grad: Optional[bool],
        all_endpoints: bool,
    ) -> Tuple[Any, torch.Tensor, torch.Tensor]:
        outputs, codes, times = self.text(endpoints, [synapse], inputs, timeout, requires_grad)
        if all_endpoints:
            return [o[0] for o in outputs], torch.cat(codes), torch.cat(times)
        return outputs[0], codes[0], times[0]

    def _checked(self, synapse: Any, expected: int, name: str) -> Any:
        synapse = _convert.synapse(synapse)
        if synapse.synapse_type != expected:
            raise ValueError(f"Passed synapse must have type: {name} (={expected}) got {synapse.name} instead")
        return synapse

    def text_causal_lm(
        self,
        endpoints: Any,
        inputs: Any,
        synapse: Any = None,
        timeout: Optional[float] = None,
        requires_grad: Optional[bool] = None,
        *,
        all_endpoints: bool = False,
    ) -> Tuple[Any, torch.Tensor, torch.Tensor]:
        """Causal LM log-probabilities ``[B, S, 50258]``. As 3.7.0: the first endpoint's
        ``(outputs, codes, times)``; with ``all_endpoints=True``: a list of every endpoint's
        output, and ``[n_endpoints]`` codes and times."""
        synapse = self._checked(
            synapse if synapse is not None else _native.TextCausalLM(), TEXT_CAUSAL_LM, "TEXT_CAUSAL_LM"
        )
        return self._single(endpoints, inputs, synapse, timeout, requires_grad, all_endpoints)

    def text_causal_lm_next(
        self,
        endpoints: Any,
        inputs: Any,
        synapse: Any = None,
        timeout: Optional[float] = None,
        requires_grad: Optional[bool] = None,
        *,
        all_endpoints: bool = False,
    ) -> Tuple[Any, torch.Tensor, torch.Tensor]:
        """Next-token phrases ``[B, topk + 1, max_len]``. First endpoint only unless
        ``all_endpoints=True`` (see :meth:`text_causal_lm`)."""
        synapse = self._checked(
            synapse if synapse is not None else _native.TextCausalLMNext(),
            TEXT_CAUSAL_LM_NEXT,
            "TEXT_CAUSAL_LM_NEXT",
        )
        return self._single(endpoints, inputs, synapse, timeout, requires_grad, all_endpoints)

    def text_last_hidden_state(
        self,
        endpoints: Any,
        inputs: Any,
        mask: Any = None,
        synapse: Any = None,
        timeout: Optional[float] = None,
        requires_grad: Optional[bool] = None,
        *,
        all_endpoints: bool = False,
    ) -> Tuple[Any, torch.Tensor, torch.Tensor]:
        """Last hidden states ``[B, S, 1024]`` (only the ``mask`` positions non-zero when given).
        First endpoint only unless ``all_endpoints=True`` (see :meth:`text_causal_lm`)."""
        if synapse is not None:
            synapse = self._checked(synapse, TEXT_LAST_HIDDEN_STATE, "TEXT_LAST_HIDDEN_STATE")
        params = dict(synapse.params) if synapse is not None else {}
        if synapse is None and self.serializer == "cmppack":
            params["forward_response_serializer_type"] = CMPPACK
        if mask is not None:
            if isinstance(mask, bool) or not isinstance(mask, (int, list)):
                raise ValueError(f"Passed mask must have type: int or List[int] got:{type(mask)} instead")
            params["mask"] = [mask] if isinstance(mask, int) else list(mask)
        synapse = _native.TextLastHiddenState(**params)
        return self._single(endpoints, inputs, synapse, timeout, requires_grad, all_endpoints)

    def generate(
        self,
        endpoints: Any,
        prompt: Any,
        timeout: Optional[float] = None,
        topk: int = 50,
        num_to_generate: int = 256,
        num_beams: int = 5,
        no_repeat_ngram_size: int = 2,
        early_stopping: bool = False,
        num_return_sequences: int = 1,
        do_sample: bool = False,
        top_p: float = 0.95,
        temperature: float = 1.0,
        repetition_penalty: float = 1.0,
        length_penalty: float = 1.0,
        max_time: float = 150,
        num_beam_groups: int = 1,
    ) -> Tuple[List[str], List[float], List[str]]:
        """Seq2seq on every endpoint: ``(codes, times, generations)``, codes by name and each
        generation the decoded first batch item."""
        synapse = _native.TextSeq2Seq(
            topk=topk,
            num_to_generate=num_to_generate,
            num_beams=num_beams,
            no_repeat_ngram_size=no_repeat_ngram_size,
            early_stopping=early_stopping,
            num_return_sequences=num_return_sequences,
            do_sample=do_sample,
            top_p=top_p,
            temperature=temperature,
            repetition_penalty=repetition_penalty,
            length_penalty=length_penalty,
            max_time=max_time,
            num_beam_groups=num_beam_groups,
        )
        outputs, codes, times = self.text(endpoints, [synapse], prompt, timeout)
        generations = []
        for text_tensor in outputs:
            first = text_tensor[0]
            ids = first[0].long().tolist() if first.dim() == 2 and first.shape[0] > 0 else []
            generations.append(_native.detokenize(ids))
        return (
            [code_to_string(c) for c in codes],
            [t.item() for t in times],
            generations,
        )

    # ----- statistics and metrics --------------------------------------------------------------

    def update_stats(
        self,
        endpoints: List[Any],
        synapses: List[Any],
        inputs: List[torch.Tensor],
        outputs: List[Any],
        codes: Any,
        times: Any,
    ) -> None:
        """The reference's ``update_stats`` (``self.stats``)."""
        _stats.update_stats(self.stats, endpoints, synapses, inputs, outputs, codes, times)

    def to_dataframe(self, metagraph: Any) -> Any:
        """``self.stats`` as a pandas DataFrame indexed by metagraph uid."""
        return _stats.to_dataframe(self.stats, metagraph)

    def to_wandb(self) -> Dict[str, Any]:
        """``self.stats`` as the reference's wandb dictionary."""
        return _stats.to_wandb(self.stats)

    def endpoint_stats(self) -> List[Dict[str, Any]]:
        """The Rust core's bounded per-endpoint statistics (requests, successes, codes, latency
        EWMA, bytes), forward and backward, one dict per endpoint."""
        return self._client.endpoint_stats()

    def serve_metrics(self, port: int = 0, ip: str = "127.0.0.1") -> int:
        """Serves ``/metrics`` (Prometheus) and ``/stats`` (JSON); returns the port."""
        return self._client.serve_metrics(port, ip)

    def metrics_text(self) -> str:
        """This dendrite's Prometheus series as text."""
        return self._client.metrics_text()

    def counters(self) -> Dict[str, Any]:
        """Receptors, open connections, dropped fire-and-forget backwards, retries, backoffs."""
        return self._client.counters()

    # ----- gradients ---------------------------------------------------------------------------

    def _deliver_gradients(
        self, endpoints: List[Any], synapses: List[Any], inputs: List[Any], grads: List[Any], timeout: float
    ) -> None:
        if self.delivery == "await":
            self.last_backward = self._client.backward(
                endpoints, synapses, inputs, grads, timeout, wait_for_answers=True
            )
        else:
            self._client.backward(endpoints, synapses, inputs, grads, timeout, wait_for_answers=False)


def _compression(value: Any) -> Optional[str]:
    text = "" if value is None else str(value).strip().lower()
    if text in ("", "nocompression", "none"):
        return None
    if text == "deflate":
        warnings.warn("dendrite_rs: deflate is not offered; requests are compressed with gzip", stacklevel=3)
        return "gzip"
    if text in ("gzip", "zstd"):
        return text
    raise ValueError(f"compression must be gzip, zstd or NoCompression, got {value!r}")


class dendrite:  # noqa: N801 - the reference's name
    """``dendrite_rs.dendrite(config=None, wallet=None, timeout=None, requires_grad=None,
    max_active_receptors=None, compression=None, ...)``: a :class:`Dendrite`, as
    ``bittensor.dendrite(...)`` builds one, with our options as keywords:

    - ``uri``: sign with a dev URI or mnemonic (``"//Alice"``) instead of a wallet;
    - ``delivery``: ``"detached"`` (default, the reference's fire-and-forget, bounded) or
      ``"await"`` (``loss.backward()`` waits for every Backward's answer);
    - ``k_min``/``timeout_after_k_min``: return once ``k_min`` endpoints answered and the grace
      passed, the rest ``Timeout``; ``backoff`` (seconds): skip failing endpoints for a growing
      time (``Backoff``); ``retries``: budgeted retries on ``Unavailable``;
    - ``serializer="cmppack"``: float16 hidden states on the wire; ``reject_non_finite``: NaN/inf
      answers are ``InvalidResponse``; ``max_in_flight``, ``prometheus_level``.
    """

    def __new__(  # type: ignore[misc]
        cls,
        config: Any = None,
        wallet: Any = None,
        timeout: Optional[float] = None,
        requires_grad: Optional[bool] = None,
        max_active_receptors: Optional[int] = None,
        receptor_pool: Any = None,
        multiprocess: Optional[bool] = None,
        compression: Optional[str] = None,
        _mock: Optional[bool] = None,
        *,
        uri: Optional[str] = None,
        delivery: str = "detached",
        k_min: Optional[int] = None,
        timeout_after_k_min: Optional[float] = None,
        backoff: Optional[float] = None,
        retries: Optional[int] = None,
        serializer: Optional[str] = None,
        reject_non_finite: bool = False,
        max_in_flight: Optional[int] = None,
        prometheus_level: Optional[str] = None,
    ) -> Dendrite:
        config = _config.config([]) if config is None else copy.deepcopy(config)
        d = config.dendrite
        if timeout is not None:
            d.timeout = timeout
        if requires_grad is not None:
            d.requires_grad = requires_grad
        if max_active_receptors is not None:
            d.max_active_receptors = max_active_receptors
        if compression is not None:
            d.compression = compression
        if prometheus_level is not None:
            d.prometheus.level = prometheus_level
        if _mock or getattr(d, "_mock", False):
            raise ValueError("dendrite_rs has no mock mode: serve the toy model (`dendrite axon`) instead")
        if receptor_pool is not None:
            warnings.warn("dendrite_rs: receptor_pool is ignored (the Rust core owns its pool)", stacklevel=2)
        if multiprocess:
            warnings.warn("dendrite_rs: multiprocess is ignored (each process has its own pool)", stacklevel=2)
        _config.check_config(config)
        key = _convert.key_arguments(wallet, uri, getattr(config, "wallet", None))
        client = _native.Client(
            uri=key.get("uri"),
            keyfile=key.get("keyfile"),
            secret_key=key.get("secret_key"),
            public_key=key.get("public_key"),
            timeout=float(d.timeout),
            max_active_receptors=int(d.max_active_receptors),
            max_in_flight=max_in_flight,
            compression=_compression(d.compression),
            prometheus_level=str(d.prometheus.level).upper(),
            k_min=k_min,
            timeout_after_k_min=timeout_after_k_min,
            backoff=backoff,
            retries=retries,
            reject_non_finite=reject_non_finite,
        )
        return Dendrite(config, client, wallet=wallet, delivery=delivery, serializer=serializer)

    config = staticmethod(_config.config)
    add_args = staticmethod(_config.add_args)
    check_config = staticmethod(_config.check_config)
    help = staticmethod(_config.help)

    @staticmethod
    def add_defaults(defaults: Any) -> None:
        """Sets ``defaults.dendrite`` from the environment, as the reference does."""
        defaults.dendrite = _config.defaults().dendrite


__all__ = ["Dendrite", "dendrite", "DELIVERIES"]
