"""``dendrite_rs.http``: bittensor 10.x's ``Dendrite`` on the dendrite Rust core.

Same calls, same results as ``bittensor.Dendrite`` (10.5.0), with the user's ``bittensor.Synapse``
subclasses as they are::

    from dendrite_rs.http import Dendrite
    d = Dendrite(wallet)                                  # a Wallet, a Keypair, a URI or a key file
    answers = await d(axons, synapse=MySynapse(...), timeout=12.0)

Python does only what needs the user's class: it dumps the synapse once per call (its own fields,
the input headers, the body hash) and validates each answer into the class. Rust does the rest
without the GIL: per-axon headers and body, signatures, the HTTP/1.1 connections, the fan-out and
the deadline. Awaiting a call never blocks the running loop (the Rust task hands its results to
the loop with ``call_soon_threadsafe``); cancelling the awaiting task cancels the call's requests.
Importing this module needs no torch.

Where this differs from 10.5.0, on purpose: a call to an axon names the dendrite's ``uuid``
unless another request to that axon is in flight; each connection open at once to one axon
holds a uuid of its own (a few per axon, the same ones every time), so concurrent calls to one
axon are never refused for nonce order (10.5.0's single uuid gets ``401 Nonce is too old``
there) and an axon's nonce table gains one key per concurrent connection, never one per
connection ever opened; ``synapse_history`` keeps the last ``history`` calls as
10.5.0 keeps each (a bare ``Synapse`` with the terminal infos; 10.5.0 keeps every one
forever); the external IP is never looked up (``external_ip`` says what to report); a
streamed answer's ``response`` stand-in carries the answer's ``bt_header_*`` as its headers,
not every raw header.

Without bittensor 10.x (bittensor 11 removed them, or no bittensor), ``Synapse``,
``StreamingSynapse`` and ``TerminalInfo`` from this module are ours, field for field and JSON
for JSON 10.5.0's (``_synapse``); with it, they are bittensor's own. ``bt.Tensor`` is not
reproduced.
"""

from __future__ import annotations

import asyncio
import collections
import uuid as uuid_module
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    Deque,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from . import _install, _native, _wire
from ._compat import Compat, NativeKeypair, target_of
from ._install import classes, terminal_class
from ._rest import RequestStream, Response, StreamEvent, request_parts
from ._stream import END, StreamedResponse
from ._wire import BASE_FIELDS

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ._synapse import StreamingSynapse, Synapse, TerminalInfo

#: A synapse class: bittensor 10.x's ``Synapse`` subclasses and ours are pydantic models.
S = TypeVar("S", bound="BaseModel")


class AxonLike(Protocol):
    """What an axon argument needs: an ``AxonInfo``'s ``ip``, ``port`` and ``hotkey``."""

    @property
    def ip(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def hotkey(self) -> str: ...


def __getattr__(name: str) -> Any:
    """``Synapse``, ``StreamingSynapse``, ``TerminalInfo``: bittensor 10.x's where it is
    installed, ours (field for field the same) on bittensor 11 or without bittensor."""
    if name in ("Synapse", "StreamingSynapse", "TerminalInfo"):
        return getattr(classes(), name)
    raise AttributeError(f"module 'dendrite_rs.http' has no attribute {name!r}")


def _key_arguments(wallet: Any) -> Dict[str, Any]:
    """The native client's key arguments for a bittensor ``Wallet`` (its hotkey file), a
    keypair that exposes its secret (``private_key``), a keypair that keeps it and signs
    (bittensor 10's ``bittensor_wallet.Keypair``: its own ``sign`` signs every request, with
    the GIL, from the native runtime's thread), a dev URI or mnemonic, or a hotkey file path."""
    if wallet is None:
        raise ValueError("Dendrite needs a wallet, a URI, a mnemonic or a hotkey file")
    if isinstance(wallet, str):
        if wallet.startswith("//") or " " in wallet.strip():
            return {"uri": wallet}
        return {"keyfile": wallet}
    hotkey_file = getattr(wallet, "hotkey_file", None)
    if hotkey_file is not None:
        return {"keyfile": str(hotkey_file.path)}
    secret = getattr(wallet, "private_key", None)
    public = getattr(wallet, "public_key", None)
    if secret and public:
        return {"secret_key": bytes(secret), "public_key": bytes(public)}
    if public and callable(getattr(wallet, "sign", None)):
        return {"signer": wallet, "public_key": bytes(public)}
    raise ValueError(
        f"{type(wallet).__name__} neither exposes its secret key nor signs: give the wallet, "
        "a keypair, the URI or the mnemonic it was made from"
    )


def _wallet_or_default(wallet: Any) -> Any:
    """``wallet``, or where none is given the default ``bittensor_wallet.Wallet()`` (10.5.0
    signs with its hotkey then), when that package is installed."""
    if wallet is not None:
        return wallet
    try:
        from bittensor_wallet import Wallet
    except ImportError:
        return None
    return Wallet()


class Dendrite(Compat):
    """bittensor 10.5.0's ``Dendrite`` API: ``forward``/``__call__``, ``call``, ``query``,
    ``aclose_session``/``close_session``, ``async with``; ``uuid``, ``keypair``,
    ``external_ip``, ``synapse_history``; for requests sent by other means,
    ``preprocess_synapse_for_request``, ``_get_endpoint_url``, ``session`` (aiohttp),
    ``process_server_response``, ``process_error_message``, ``log_exception`` and the two log
    lines. Policies beyond 10.5.0 as keywords: ``k_min`` and
    ``timeout_after_k_min`` (return once that many axons answered 200), ``backoff`` (seconds:
    skip failing axons), ``retries`` (refused connections), ``max_connections`` and
    ``connections_per_endpoint``, ``auth="btauth"`` (also sign with bittensor 11's btauth/1).
    Usable from threads (``query``) and in a child after ``fork`` (its connections are made
    again there)."""

    def __init__(
        self,
        wallet: Any = None,
        *,
        external_ip: str = "127.0.0.1",
        auth: str = "v10",
        history: int = 1024,
        max_connections: Optional[int] = None,
        connections_per_endpoint: Optional[int] = None,
        k_min: Optional[int] = None,
        timeout_after_k_min: Optional[float] = None,
        backoff: Optional[float] = None,
        retries: Optional[int] = None,
        prometheus_level: str = "DEBUG",
    ) -> None:
        if auth not in ("v10", "btauth", "epistula", "none"):
            raise ValueError(f"auth must be 'v10', 'btauth', 'epistula' or 'none', not {auth!r}")
        wallet = _wallet_or_default(wallet)
        #: How :meth:`request` signs by default: the constructor's scheme; ``v10`` (a synapse
        #: signature, which a REST request has no use for) signs requests with btauth/1.
        self.request_auth: str = "btauth" if auth == "v10" else auth
        self._native = _native.HttpClient(
            **_key_arguments(wallet),
            external_ip=external_ip,
            btauth=auth == "btauth",
            max_connections=max_connections,
            connections_per_endpoint=connections_per_endpoint,
            k_min=k_min,
            timeout_after_k_min=timeout_after_k_min,
            backoff=backoff,
            retries=retries,
            prometheus_level=prometheus_level,
        )
        #: Per axon of the last call, where its time went (seconds by phase name).
        self.last_phases: List[Dict[str, float]] = []
        #: What ``keypair`` is in 10.5.0: the wallet's hotkey, or the keypair given; for a URI,
        #: mnemonic or key file, the native key's face (``ss58_address``, ``public_key``, ``sign``).
        self.keypair: Any = (
            getattr(wallet, "hotkey", wallet) if not isinstance(wallet, str) else NativeKeypair(self._native)
        )
        self.uuid: str = self._native.uuid
        self._prepared_uuid = str(uuid_module.uuid4())
        self.external_ip = external_ip
        self.synapse_history: Deque[Any] = collections.deque(maxlen=max(history, 0))
        self._session: Any = None

    def __str__(self) -> str:
        return f"dendrite({self._native.hotkey})"

    __repr__ = __str__

    @overload
    async def forward(
        self,
        axons: List[Any],
        synapse: S,
        timeout: float = ...,
        *,
        deserialize: Literal[False],
        run_async: bool = ...,
        streaming: Literal[False] = ...,
        arrays: Optional[Mapping[str, Any]] = ...,
    ) -> List[S]: ...
    @overload
    async def forward(
        self,
        axons: AxonLike,
        synapse: S,
        timeout: float = ...,
        *,
        deserialize: Literal[False],
        run_async: bool = ...,
        streaming: Literal[False] = ...,
        arrays: Optional[Mapping[str, Any]] = ...,
    ) -> S: ...
    @overload
    async def forward(
        self,
        axons: List[Any],
        synapse: Any = ...,
        timeout: float = ...,
        deserialize: bool = ...,
        run_async: bool = ...,
        streaming: bool = ...,
        arrays: Optional[Mapping[str, Any]] = ...,
    ) -> List[Any]: ...
    @overload
    async def forward(
        self,
        axons: Any,
        synapse: Any = ...,
        timeout: float = ...,
        deserialize: bool = ...,
        run_async: bool = ...,
        streaming: bool = ...,
        arrays: Optional[Mapping[str, Any]] = ...,
    ) -> Any: ...
    async def forward(
        self,
        axons: Union[Any, Sequence[Any]],
        synapse: Any = None,
        timeout: float = 12.0,
        deserialize: bool = True,
        run_async: bool = True,
        streaming: bool = False,
        arrays: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """Sends ``synapse`` to every axon at once; one axon in → one result out, a list → a
        list, in order. ``deserialize`` gives each synapse's ``deserialize()``, else the synapse
        with its ``dendrite``/``axon`` terminal info filled as 10.5.0 fills it (typed: with
        ``deserialize=False`` an ``AxonInfo`` gives the synapse's own class, a list a list of
        it). The caller's synapse is never changed: as 10.5.0, the call works on a copy (its
        private attributes kept in every result). ``run_async=False`` sends to one axon after
        another, as 10.5.0 does.

        ``arrays`` (ours, not 10.5.0's) maps fields of nested numbers (``List[List[float]]``
        and the like) to numpy dtypes (``{"paths": "float64"}``; float64, float32, int64,
        int32): those fields of each answer are read in Rust straight into a numpy array of
        their shape, with no Python float per number, and set on the result as they are; the
        rest of the answer is validated by the class as usual. ``null`` stays ``None``; a
        ragged or non-numeric field is that axon's 422, its message naming the field and the
        first offending item."""
        if synapse is None:
            synapse = classes().Synapse()
        single = not isinstance(axons, list)
        targets = [target_of(a) for a in ([axons] if single else axons)]
        if streaming:
            if arrays:
                raise ValueError("arrays= reads whole answers; a streaming call has none")
            streams = [self._stream(target, synapse, timeout, deserialize) for target in targets]
            return streams[0] if single else streams
        wanted = _array_fields(arrays)
        sent = synapse.model_copy()  # 10.5.0 sends a copy; the caller's object stays as it was
        if run_async or len(targets) < 2:
            answers = await self._send(targets, sent, timeout, wanted)
        else:
            answers = [answer for target in targets for answer in await self._send([target], sent, timeout, wanted)]
        self.last_phases = [dict(zip(_native.PHASES, answer.phases)) for answer in answers]
        out = [self._finish(sent, answer, timeout, deserialize, wanted) for answer in answers]
        return out[0] if single else out

    __call__ = forward

    @overload
    async def call(
        self, target_axon: AxonLike, synapse: S, timeout: float = ..., *, deserialize: Literal[False]
    ) -> S: ...
    @overload
    async def call(
        self, target_axon: Any, synapse: Any = ..., timeout: float = ..., deserialize: bool = ...
    ) -> Any: ...
    async def call(
        self,
        target_axon: Any,
        synapse: Any = None,
        timeout: float = 12.0,
        deserialize: bool = True,
    ) -> Any:
        """One axon: the synapse after the call (or its ``deserialize()``)."""
        return await self.forward(target_axon, synapse, timeout, deserialize)

    async def aquery(self, *args: Any, **kwargs: Any) -> Any:
        """``forward``, then idle connections closed (10.5.0's ``aquery``)."""
        try:
            return await self.forward(*args, **kwargs)
        finally:
            self._native.close_idle()

    @overload
    async def request(
        self,
        method: str,
        axons: List[Any],
        path: str,
        *,
        json: Any = ...,
        content: Union[bytes, str, None] = ...,
        headers: Optional[Mapping[str, str]] = ...,
        timeout: float = ...,
        auth: Optional[str] = ...,
        stream: bool = ...,
        require_signed_answers: bool = ...,
        max_answer_bytes: int = ...,
    ) -> List[Response]: ...
    @overload
    async def request(
        self,
        method: str,
        axons: AxonLike,
        path: str,
        *,
        json: Any = ...,
        content: Union[bytes, str, None] = ...,
        headers: Optional[Mapping[str, str]] = ...,
        timeout: float = ...,
        auth: Optional[str] = ...,
        stream: bool = ...,
        require_signed_answers: bool = ...,
        max_answer_bytes: int = ...,
    ) -> Response: ...
    async def request(
        self,
        method: str,
        axons: Any,
        path: str,
        *,
        json: Any = None,
        content: Union[bytes, str, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 12.0,
        auth: Optional[str] = None,
        stream: bool = False,
        require_signed_answers: bool = False,
        max_answer_bytes: int = 64 << 20,
    ) -> Union[Response, List[Response]]:
        """Sends one signed REST request (``method`` to ``path``, with its query) to every axon
        at once, as bittensor 11's subnets send theirs: ``json`` (dumped) or ``content`` as the
        body, ``headers`` besides the scheme's, signed with ``auth`` (``btauth``,
        ``epistula`` or ``none``; default :attr:`request_auth`), the whole call within
        ``timeout``. One axon in → one :class:`Response` out, a list → a list, in order.
        ``stream`` reads ``text/event-stream`` answers as events (``Response.events``, parsed
        as they arrive, handed over when the call ends); ``require_signed_answers`` makes an
        answer without a valid Epistula signature from its axon a failure. Cancelling the
        awaiting task cancels the requests."""
        single = not isinstance(axons, list)
        given = [axons] if single else list(axons)
        targets = [target_of(a) for a in given]
        parts = request_parts(
            method,
            path,
            json,
            content,
            headers,
            auth or self.request_auth,
            timeout,
            max_answer_bytes,
            stream,
            require_signed_answers,
        )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[List[_native.RestReply]] = loop.create_future()

        def done(replies: List[_native.RestReply]) -> None:
            if not future.done():
                future.set_result(replies)

        handle = self._native.start_request(loop, done, targets, parts)
        try:
            replies = await future
        except asyncio.CancelledError:
            handle.cancel()
            raise
        self.last_phases = [dict(zip(_native.PHASES, reply.phases)) for reply in replies]
        responses = [Response(axon, reply) for axon, reply in zip(given, replies)]
        return responses[0] if single else responses

    def stream(
        self,
        method: str,
        axons: Union[AxonLike, List[Any]],
        path: str,
        *,
        json: Any = None,
        content: Union[bytes, str, None] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 12.0,
        auth: Optional[str] = None,
        require_signed_answers: bool = False,
        max_answer_bytes: int = 64 << 20,
    ) -> RequestStream:
        """:meth:`request` read live: ``async for item in dendrite.stream(...)`` gives each
        ``text/event-stream`` answer's events as they arrive, across all axons, each a
        :class:`StreamEvent` (its axon, its position, the event); ``await
        stream.responses()`` then gives every axon's :class:`Response`. Must be called with a
        running loop."""
        given = list(axons) if isinstance(axons, list) else [axons]
        targets = [target_of(a) for a in given]
        parts = request_parts(
            method,
            path,
            json,
            content,
            headers,
            auth or self.request_auth,
            timeout,
            max_answer_bytes,
            True,
            require_signed_answers,
        )

        def start(loop: Any, on_event: Any, done: Any) -> _native.CallHandle:
            return self._native.start_request_stream(loop, on_event, done, targets, parts)

        return RequestStream(given, start)

    async def get(self, axons: Any, path: str, **kwargs: Any) -> Any:
        """:meth:`request` with ``GET``."""
        return await self.request("GET", axons, path, **kwargs)

    async def post(self, axons: Any, path: str, **kwargs: Any) -> Any:
        """:meth:`request` with ``POST``."""
        return await self.request("POST", axons, path, **kwargs)

    async def put(self, axons: Any, path: str, **kwargs: Any) -> Any:
        """:meth:`request` with ``PUT``."""
        return await self.request("PUT", axons, path, **kwargs)

    async def patch(self, axons: Any, path: str, **kwargs: Any) -> Any:
        """:meth:`request` with ``PATCH``."""
        return await self.request("PATCH", axons, path, **kwargs)

    async def delete(self, axons: Any, path: str, **kwargs: Any) -> Any:
        """:meth:`request` with ``DELETE``."""
        return await self.request("DELETE", axons, path, **kwargs)

    def serve_metrics(self, port: int = 0, ip: str = "127.0.0.1") -> int:
        """Serves Prometheus ``/metrics`` (the same series as the 3.x dendrite's, both wires);
        returns the port."""
        return self._native.serve_metrics(port, ip)

    def metrics_text(self) -> str:
        """The Prometheus text of the metrics."""
        return self._native.metrics_text()

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """``forward`` for code without an event loop (10.5.0's ``query``)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.forward(*args, **kwargs))
        raise RuntimeError("query() blocks: inside a running loop, await forward() instead")

    async def aclose_session(self) -> None:
        """Closes idle connections (more are opened when needed) and the :attr:`session`, if
        one was made."""
        self._native.close_idle()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def close_session(self) -> None:
        """:meth:`aclose_session` without awaiting; a :attr:`session` is closed on the running
        loop (scheduled there), else on a loop of its own."""
        self._native.close_idle()
        if self._session is not None:
            session, self._session = self._session, None
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(session.close())
            else:
                running.create_task(session.close())

    def __del__(self) -> None:
        """Closes a :attr:`session` left open, as 10.5.0 tries to (``async with`` or
        :meth:`aclose_session` is the reliable way)."""
        if getattr(self, "_session", None) is not None:
            try:
                self.close_session()
            except Exception:  # no loop can run now (interpreter shutdown): nothing to do
                pass

    async def __aenter__(self) -> Dendrite:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose_session()

    def __enter__(self) -> Dendrite:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close_session()

    async def call_stream(
        self,
        target_axon: Any,
        synapse: Any = None,
        timeout: float = 12.0,
        deserialize: bool = True,
    ) -> AsyncGenerator[Any, None]:
        """One axon's streamed answer: what the synapse's ``process_streaming_response`` yields
        for the chunks as they arrive, then the synapse (or its ``deserialize()``)."""
        if synapse is None:
            synapse = classes().Synapse()
        async for item in self._stream(target_of(target_axon), synapse, timeout, deserialize):
            yield item

    async def _stream(
        self, target: Tuple[str, int, str], synapse: Any, timeout: float, deserialize: bool
    ) -> AsyncGenerator[Any, None]:
        """10.5.0's ``call_stream``: the user's ``process_streaming_response`` reads the chunks
        (from a stand-in for aiohttp's response: ``content.iter_any()``, ``status``,
        ``headers``), then ``extract_response_json`` gives the fields of the final synapse."""
        local = synapse.model_copy()
        local.timeout = timeout  # 10.5.0 sets it on its copy
        parts = _wire.parts(local, timeout)
        loop = asyncio.get_running_loop()
        response = StreamedResponse()
        final: asyncio.Future[_native.AxonAnswer] = loop.create_future()

        def done(answer: _native.AxonAnswer) -> None:
            self.last_phases = [dict(zip(_native.PHASES, answer.phases))]
            response.finish(answer.http_status, answer.dendrite, answer.axon)
            if answer.http_status and answer.http_status != 200 and answer.body:
                response.chunks.put_nowait(answer.body)  # 10.5.0 streams an error answer's body too
            response.chunks.put_nowait(END)
            if not final.done():
                final.set_result(answer)

        handle = self._native.start_stream(loop, response.chunks.put_nowait, done, target, parts)
        try:
            async for item in local.process_streaming_response(response):
                yield item
            answer = await final
        finally:
            if not final.done():  # cancelled, or the consumer stopped early
                handle.cancel()
        dendrite_info, axon_info = answer.dendrite, answer.axon
        if answer.http_status == 200 and answer.status == 200:
            try:
                server = type(local)(**local.extract_response_json(response))
            except Exception as e:  # the class rejects the answer: 10.5.0's 422
                dendrite_info.update(status_code=422, status_message=f"Failed to parse response: {e}")
            else:
                for key in local.model_dump().keys():
                    try:
                        setattr(local, key, getattr(server, key))
                    except Exception:
                        pass
        terminal = terminal_class(local)
        local.dendrite = terminal(**dendrite_info)
        local.axon = terminal(**axon_info)
        self._remember(local)
        yield local.deserialize() if deserialize else local

    async def _send(
        self,
        targets: List[Tuple[str, int, str]],
        synapse: Any,
        timeout: float,
        arrays: Sequence[Tuple[str, str]] = (),
    ) -> List[_native.AxonAnswer]:
        """One dump of the synapse, one Rust call for every axon, awaited without blocking."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[List[_native.AxonAnswer]] = loop.create_future()

        def done(answers: List[_native.AxonAnswer]) -> None:
            if not future.done():
                future.set_result(answers)

        handle = self._native.start(loop, done, targets, _wire.parts(synapse, timeout), list(arrays))
        try:
            return await future
        except asyncio.CancelledError:
            handle.cancel()
            raise

    def _finish(
        self,
        synapse: Any,
        answer: _native.AxonAnswer,
        timeout: float,
        deserialize: bool,
        arrays: Sequence[Tuple[str, str]] = (),
    ) -> Any:
        """The synapse after one axon's answer, as 10.5.0's ``process_server_response`` leaves
        it: on 200 the answer's fields replace the sent ones (a body the class rejects is 422),
        the terminal infos are the answer's merged with its headers."""
        try:
            local = self._result(synapse, answer, timeout, arrays)
        except Exception as e:  # never the whole call's failure: this axon's, as the client's 500
            terminal = terminal_class(synapse)
            failure = terminal(status_code=500, status_message=f"Client error: {type(e).__name__}: {e}")
            local = synapse.model_copy(update={"timeout": timeout, "dendrite": failure, "axon": terminal()})
        self._remember(local)
        return local.deserialize() if deserialize else local

    def _result(
        self, synapse: Any, answer: _native.AxonAnswer, timeout: float, arrays: Sequence[Tuple[str, str]] = ()
    ) -> Any:
        """:meth:`_finish`'s synapse, before ``deserialize``."""
        dendrite_info, axon_info, fields = answer.dendrite, answer.axon, answer.fields
        if answer.http_status == 200 and answer.status == 200 and fields is not None:
            # Fields read as arrays are set as they are: the class validates the sent values
            # in their place (its type is a list of floats, which an array is not).
            decoded = {name: fields[name] for name, _ in arrays if fields.get(name) is not None}
            for name in decoded:
                fields[name] = getattr(synapse, name)
            try:
                # Every field of the answer replaces the sent one (10.5.0 copies them one by one
                # onto its copy of the synapse, validating each again), and its `dendrite` and
                # `axon` are already the merged infos: one validation makes the result.
                local = type(synapse)(**fields)
                for name, array in decoded.items():
                    object.__setattr__(local, name, array)
                    local.__pydantic_fields_set__.add(name)
            except Exception as e:  # the class rejects the answer: 10.5.0's 422
                dendrite_info["status_code"] = 422
                dendrite_info["status_message"] = f"Failed to parse response: {e}"
                dendrite_info["process_time"] = None
            else:
                private = getattr(synapse, "__pydantic_private__", None)
                if private:  # 10.5.0's result is its copy of the sent synapse: private attributes kept
                    object.__setattr__(local, "__pydantic_private__", dict(private))
                return local
        # No answer to take: the sent synapse with the call's infos (`model_copy(update=)` sets
        # them as validated here, without the class's validate-on-assignment).
        terminal = terminal_class(synapse)
        update = {"timeout": timeout, "dendrite": terminal(**dendrite_info), "axon": terminal(**axon_info)}
        return synapse.model_copy(update=update)

    def _remember(self, synapse: Any) -> None:
        """What 10.5.0 keeps of a finished call in ``synapse_history``: a bare ``Synapse`` with
        its timeout and terminal infos (not its fields, which can be large)."""
        if self.synapse_history.maxlen == 0:
            return
        bare = classes().Synapse(timeout=synapse.timeout, dendrite=synapse.dendrite, axon=synapse.axon)
        self.synapse_history.append(bare)


def _array_fields(arrays: Optional[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    """``forward``'s ``arrays`` as Rust takes them: ``(field, numpy dtype name)``."""
    if not arrays:
        return []
    import numpy  # only where arrays are asked for (bittensor 11's venvs may have no numpy)

    return [(str(field), numpy.dtype(dtype).name) for field, dtype in arrays.items()]


def install() -> None:
    """Makes ``bittensor.Dendrite`` (and ``bittensor.dendrite``) ours on bittensor 10.x, so
    that existing validator code builds this dendrite unchanged. Idempotent; :func:`uninstall`
    puts the originals back."""
    _install.install(Dendrite)


def uninstall() -> None:
    """Undoes :func:`install`."""
    _install.uninstall()


__all__ = [
    "BASE_FIELDS",
    "Dendrite",
    "RequestStream",
    "Response",
    "StreamEvent",
    "StreamingSynapse",
    "Synapse",
    "TerminalInfo",
    "install",
    "uninstall",
]
