"""Types of the Rust extension ``dendrite_rs._native``."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str
DEFAULT_TIMEOUT: float
DEFAULT_MAX_ACTIVE_RECEPTORS: int
PHASES: Tuple[str, ...]
BASE_FIELDS: Tuple[str, ...]
VERSION_AS_INT: int
ERROR_MAPPING: List[Tuple[str, Optional[int], str]]
UNMAPPED_ERROR: Tuple[int, str]

class Endpoint:
    """A 3.x endpoint (``bittensor.endpoint``): hotkey, address, version, uid, modality."""

    def __init__(
        self,
        version: int,
        uid: int,
        hotkey: str,
        ip: str,
        ip_type: int,
        port: int,
        protocol: int = 0,
        coldkey: Optional[str] = None,
        modality: int = 0,
    ) -> None:
        """An endpoint of these fields (``ValueError`` on a bad one)."""
    @staticmethod
    def from_tensor(array: npt.NDArray[Any]) -> Endpoint:
        """The endpoint a 3.x endpoint tensor (``to_numpy``'s layout) describes."""
    @staticmethod
    def dummy() -> Endpoint:
        """The reference's dummy endpoint (answered ``BadEndpoint``, no traffic)."""
    def to_numpy(self) -> npt.NDArray[np.int64]:
        """The endpoint as 3.7.0's int64 tensor layout."""
    def dumps(self) -> str:
        """The JSON the reference's ``dumps()`` writes."""
    def ip_str(self) -> str:
        """``ip:port`` (``[ip]:port`` for IPv6)."""
    @property
    def version(self) -> int:
        """The endpoint's version."""
    @property
    def uid(self) -> int:
        """The endpoint's uid."""
    @property
    def hotkey(self) -> str:
        """The endpoint's SS58 hotkey."""
    @property
    def ip(self) -> str:
        """The endpoint's IP address."""
    @property
    def ip_type(self) -> int:
        """4 or 6."""
    @property
    def port(self) -> int:
        """The endpoint's port."""
    @property
    def protocol(self) -> int:
        """The endpoint's protocol number."""
    @property
    def coldkey(self) -> str:
        """The endpoint's SS58 coldkey."""
    @property
    def modality(self) -> int:
        """The endpoint's modality (0: text)."""
    @property
    def is_serving(self) -> bool:
        """Whether the endpoint has an address (not ``0.0.0.0``)."""

class Synapse:
    """A 3.x synapse (``TextLastHiddenState``, ``TextCausalLM``, ...): its type and parameters."""

    @staticmethod
    def from_wire(synapse_type: int, synapse_data: bytes) -> Synapse:
        """The synapse a 3.x request's ``synapse_type`` and ``synapse_data`` bytes describe."""
    @property
    def synapse_type(self) -> int:
        """The synapse's wire type number."""
    @property
    def is_differentiable(self) -> bool:
        """Whether a backward can follow it (the hidden state and causal LM synapses)."""
    @property
    def name(self) -> str:
        """The synapse's reference name."""
    @property
    def synapse_data(self) -> bytes:
        """The synapse's parameters as the wire carries them."""
    @property
    def params(self) -> Dict[str, Any]:
        """The synapse's parameters by name."""
    def __getattr__(self, name: str) -> Any: ...

class TensorBuffer: ...

class CallResults:
    """A call's results, flattened endpoint-major (endpoint × synapse)."""

    outputs: List[npt.NDArray[Any]]
    codes: npt.NDArray[np.int64]
    times: npt.NDArray[np.float32]
    messages: List[str]
    phases: npt.NDArray[np.float64]
    reused_connection: npt.NDArray[np.int8]

class Client:
    """The 3.x client on the Rust core: signed forward and backward calls to many endpoints under one deadline."""

    def __init__(
        self,
        *,
        uri: Optional[str] = None,
        keyfile: Optional[str] = None,
        secret_key: Optional[bytes] = None,
        public_key: Optional[bytes] = None,
        timeout: Optional[float] = None,
        max_active_receptors: Optional[int] = None,
        max_in_flight: Optional[int] = None,
        max_detached_backward: Optional[int] = None,
        compression: Optional[str] = None,
        prometheus_level: str = "DEBUG",
        k_min: Optional[int] = None,
        timeout_after_k_min: Optional[float] = None,
        backoff: Optional[float] = None,
        retries: Optional[int] = None,
        reject_non_finite: bool = False,
    ) -> None:
        """A client signing with one key (``uri``, ``keyfile`` or the key's bytes), with these policies."""
    @property
    def hotkey(self) -> str:
        """The SS58 hotkey requests are signed with."""
    @property
    def timeout(self) -> float:
        """The default timeout of a call, seconds."""
    def forward(
        self,
        endpoints: Sequence[Endpoint],
        synapses: Sequence[Synapse],
        inputs: Sequence[npt.NDArray[Any]],
        timeout: Optional[float] = None,
    ) -> CallResults:
        """One forward call of every synapse to every endpoint; the GIL is released while waiting."""
    def backward(
        self,
        endpoints: Sequence[Endpoint],
        synapses: Sequence[Synapse],
        inputs: Sequence[npt.NDArray[Any]],
        grads: Sequence[Sequence[npt.NDArray[Any]]],
        timeout: Optional[float] = None,
        wait_for_answers: bool = False,
    ) -> Any:
        """Sends each endpoint the gradients of its outputs (detached unless ``wait_for_answers``)."""
    def serve_metrics(self, port: int = 0, ip: str = "127.0.0.1") -> int:
        """Serves Prometheus ``/metrics`` on ``ip:port`` (0: any free port); returns the port."""
    def metrics_text(self) -> str:
        """The Prometheus text of the metrics."""
    def endpoint_stats(self) -> List[Dict[str, Any]]:
        """Per-endpoint statistics (requests, successes, failures, codes, latency, bytes), one dict each."""
    def counters(self) -> Dict[str, int]:
        """Counters of the RPC core: receptors, open connections, backwards dropped, retries, endpoints backed off."""

#: A synapse as Python dumps it once per call: name, timeout, its own fields (a dict; Rust
#: writes it as ``json.dumps`` does), the input headers, the body hash, the total size.
SynapseParts = Tuple[str, float, Dict[str, Any], List[Tuple[str, str]], str, int]

class CallHandle:
    def cancel(self) -> None: ...

RequestParts = Tuple[str, str, List[Tuple[str, str]], bytes, str, float, int, bool, bool]

class RestReply:
    @property
    def status_code(self) -> int: ...
    @property
    def answered(self) -> bool: ...
    @property
    def headers(self) -> List[Tuple[str, str]]: ...
    @property
    def content(self) -> bytes: ...
    @property
    def events(self) -> List[Tuple[str, str, str]]: ...
    @property
    def first_event(self) -> Optional[float]: ...
    @property
    def elapsed(self) -> float: ...
    @property
    def phases(self) -> List[float]: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def answer_signed(self) -> Optional[bool]: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def bytes_received(self) -> int: ...

class AxonAnswer:
    @property
    def status(self) -> int: ...
    @property
    def http_status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def dendrite(self) -> Dict[str, Any]: ...
    @property
    def axon(self) -> Dict[str, Any]: ...
    @property
    def phases(self) -> List[float]: ...
    @property
    def fields(self) -> Optional[Dict[str, Any]]: ...

class HttpClient:
    def __init__(
        self,
        *,
        uri: Optional[str] = None,
        keyfile: Optional[str] = None,
        secret_key: Optional[bytes] = None,
        public_key: Optional[bytes] = None,
        signer: Optional[Any] = None,
        external_ip: str = "127.0.0.1",
        btauth: bool = False,
        max_connections: Optional[int] = None,
        connections_per_endpoint: Optional[int] = None,
        k_min: Optional[int] = None,
        timeout_after_k_min: Optional[float] = None,
        backoff: Optional[float] = None,
        retries: Optional[int] = None,
        prometheus_level: str = "DEBUG",
    ) -> None: ...
    @property
    def hotkey(self) -> str: ...
    @property
    def uuid(self) -> str: ...
    @property
    def public_key(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...
    def sign_synapse(self, nonce: int, axon_hotkey: str, uuid: str, body_hash: str) -> str: ...
    def next_nonce(self) -> int: ...
    def close_idle(self) -> None: ...
    def serve_metrics(self, port: int = 0, ip: str = "127.0.0.1") -> int: ...
    def metrics_text(self) -> str: ...
    def start_stream(
        self,
        event_loop: Any,
        chunk: Callable[[bytes], None],
        done: Callable[[AxonAnswer], None],
        axon: Tuple[str, int, str],
        parts: SynapseParts,
    ) -> CallHandle: ...
    def start(
        self,
        event_loop: Any,
        done: Callable[[List[AxonAnswer]], None],
        axons: List[Tuple[str, int, str]],
        parts: SynapseParts,
        arrays: List[Tuple[str, str]] = ...,
    ) -> CallHandle: ...
    def start_request(
        self,
        event_loop: Any,
        done: Callable[[List[RestReply]], None],
        axons: List[Tuple[str, int, str]],
        parts: RequestParts,
    ) -> CallHandle: ...
    def start_request_stream(
        self,
        event_loop: Any,
        on_event: Callable[[Tuple[int, Tuple[str, str, str]]], None],
        done: Callable[[List[RestReply]], None],
        axons: List[Tuple[str, int, str]],
        parts: RequestParts,
    ) -> CallHandle: ...

def TextLastHiddenState(  # noqa: N802 - the reference's name
    mask: Optional[List[int]] = None,
    forward_request_serializer_type: int = 0,
    forward_response_serializer_type: int = 0,
    backward_request_serializer_type: int = 0,
    backward_response_serializer_type: int = 0,
) -> Synapse:
    """The 3.x hidden-state synapse (``bittensor.synapse.TextLastHiddenState``)."""

def TextCausalLM(  # noqa: N802
    topk: int = 512,
    forward_request_serializer_type: int = 0,
    forward_response_serializer_type: int = 0,
    backward_request_serializer_type: int = 0,
    backward_response_serializer_type: int = 0,
) -> Synapse:
    """The 3.x causal LM synapse: top-k logits (``bittensor.synapse.TextCausalLM``)."""

def TextCausalLMNext(  # noqa: N802
    topk: int = 4096,
    forward_request_serializer_type: int = 0,
    forward_response_serializer_type: int = 0,
    backward_request_serializer_type: int = 0,
    backward_response_serializer_type: int = 0,
) -> Synapse:
    """The 3.x next-token synapse (``bittensor.synapse.TextCausalLMNext``)."""

def TextSeq2Seq(  # noqa: N802
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
    forward_request_serializer_type: int = 0,
    forward_response_serializer_type: int = 0,
    backward_request_serializer_type: int = 0,
    backward_response_serializer_type: int = 0,
) -> Synapse:
    """The 3.x generation synapse (``bittensor.synapse.TextSeq2Seq``)."""

def endpoints_from_tensor(array: npt.NDArray[Any]) -> List[Endpoint]: ...
def backward_plan(synapses: Sequence[Synapse], answered: List[List[bool]]) -> List[Tuple[int, List[int]]]: ...
def tokenize(text: str) -> List[int]:
    """GPT-2 token ids of ``text`` (the reference's tokenizer)."""

def tokenize_batch(texts: List[str]) -> npt.NDArray[np.int64]:
    """A ``[B, S]`` int64 batch of GPT-2 ids, padded and truncated as the reference's tokenizer does."""

def detokenize(ids: List[int]) -> str:
    """The text of GPT-2 token ids."""

def body_hash(texts: List[str]) -> str: ...
def input_header(field: str, empty_json: str) -> Tuple[str, str]: ...
def terminal_headers(headers: List[Tuple[str, str]]) -> Tuple[Dict[str, Any], Dict[str, Any]]: ...
