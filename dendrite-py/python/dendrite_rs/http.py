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

Where this differs from 10.5.0, on purpose: each HTTP/1.1 connection signs with a uuid of its
own, so concurrent calls to one axon are never refused for nonce order (10.5.0's single uuid
gets ``401 Nonce is too old`` there); ``synapse_history`` keeps the last ``history`` calls as
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
import base64
import collections
import json
import logging
import time
import uuid as uuid_module
from typing import TYPE_CHECKING, Any, AsyncGenerator, Deque, Dict, List, Optional, Sequence, Tuple, Union

from . import _native

if TYPE_CHECKING:
    from ._synapse import StreamingSynapse, Synapse, TerminalInfo

#: One axon's result from Rust: status code, HTTP status, body, the dendrite's and the axon's
#: terminal infos, the phases (seconds, ``_native.PHASES`` order), and on 200 the answer's
#: synapse as a dict (parsed in Rust, off the GIL).
_Result = Tuple[int, int, bytes, Dict[str, Any], Dict[str, Any], List[float], Optional[Dict[str, Any]]]

#: The fields of ``bittensor.Synapse`` itself; a subclass's own fields follow them (the Rust
#: wire's list).
BASE_FIELDS: Tuple[str, ...] = _native.BASE_FIELDS

_required_fields: Dict[type, Tuple[str, ...]] = {}


def _bittensor() -> Any:
    """bittensor 10.x (for ``install``)."""
    import bittensor

    if not hasattr(bittensor, "Dendrite"):
        raise ImportError(f"bittensor {bittensor.__version__} has no Dendrite to replace (10.x has)")
    return bittensor


def _classes() -> Any:
    """Where ``Synapse``, ``StreamingSynapse`` and ``TerminalInfo`` come from: bittensor 10.x
    when it is installed (users' classes subclass its own), else ours (``_synapse``)."""
    try:
        import bittensor

        if hasattr(bittensor, "Synapse"):
            return bittensor
    except ImportError:
        pass
    from . import _synapse

    return _synapse


def __getattr__(name: str) -> Any:
    """``Synapse``, ``StreamingSynapse``, ``TerminalInfo``: bittensor 10.x's where it is
    installed, ours (field for field the same) on bittensor 11 or without bittensor."""
    if name in ("Synapse", "StreamingSynapse", "TerminalInfo"):
        return getattr(_classes(), name)
    raise AttributeError(f"module 'dendrite_rs.http' has no attribute {name!r}")


def _required(cls: type) -> Tuple[str, ...]:
    """``cls.get_required_fields()``, once per class (it builds the JSON schema)."""
    fields = _required_fields.get(cls)
    if fields is None:
        fields = tuple(cls.model_json_schema().get("required", []))
        _required_fields[cls] = fields
    return fields


def _key_arguments(wallet: Any) -> Dict[str, Any]:
    """The native client's key arguments for a bittensor ``Wallet`` (its hotkey file), a
    keypair that exposes its secret (``private_key``), a dev URI or mnemonic, or a hotkey file
    path. bittensor 10's ``bittensor_wallet.Keypair`` does not expose its secret: pass the
    wallet, the URI or the mnemonic it was made from instead."""
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
    raise ValueError(
        f"{type(wallet).__name__} does not expose its secret key: give the wallet, the URI or "
        "the mnemonic it was made from"
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


def _target(axon: Any) -> Tuple[str, int, str]:
    """``(ip, port, hotkey)`` of an ``AxonInfo``, an ``Axon`` or anything with those fields."""
    info = axon.info() if hasattr(axon, "info") and callable(axon.info) else axon
    try:
        return (str(info.ip), int(info.port), str(info.hotkey))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"an axon must have ip, port and hotkey (an AxonInfo), not {type(axon).__name__}") from None


class Dendrite:
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
        if auth not in ("v10", "btauth"):
            raise ValueError(f"auth must be 'v10' or 'btauth', not {auth!r}")
        wallet = _wallet_or_default(wallet)
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
        self.keypair: Any = getattr(wallet, "hotkey", wallet) if not isinstance(wallet, str) else _Keypair(self)
        self.uuid: str = self._native.uuid
        self.external_ip = external_ip
        self.synapse_history: Deque[Any] = collections.deque(maxlen=max(history, 0))
        self._session: Any = None
        self._last_nonce = 0

    def __str__(self) -> str:
        return f"dendrite({self._native.hotkey})"

    __repr__ = __str__

    async def forward(
        self,
        axons: Union[Any, Sequence[Any]],
        synapse: Any = None,
        timeout: float = 12.0,
        deserialize: bool = True,
        run_async: bool = True,
        streaming: bool = False,
    ) -> Any:
        """Sends ``synapse`` to every axon at once; one axon in → one result out, a list → a
        list, in order. ``deserialize`` gives each synapse's ``deserialize()``, else the synapse
        with its ``dendrite``/``axon`` terminal info filled as 10.5.0 fills it."""
        if synapse is None:
            synapse = _classes().Synapse()
        single = not isinstance(axons, list)
        targets = [_target(a) for a in ([axons] if single else axons)]
        if streaming:
            streams = [self._stream(target, synapse, timeout, deserialize) for target in targets]
            return streams[0] if single else streams
        results = await self._send(targets, synapse, timeout)
        self.last_phases = [dict(zip(_native.PHASES, result[5])) for result in results]
        out = [self._finish(synapse, target, result, timeout, deserialize) for target, result in zip(targets, results)]
        return out[0] if single else out

    __call__ = forward

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
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        if loop is not None and loop.is_running():
            raise RuntimeError("query() blocks: inside a running loop, await forward() instead")
        return asyncio.run(self.forward(*args, **kwargs))

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

    @property
    async def session(self) -> Any:
        """10.5.0's ``session``: an ``aiohttp.ClientSession``, made on first use, for requests
        the caller sends itself (with :meth:`preprocess_synapse_for_request`); closed by
        :meth:`aclose_session`. This dendrite's own calls never use it."""
        if self._session is None:
            try:
                import aiohttp
            except ImportError as e:
                raise ImportError("Dendrite.session is an aiohttp.ClientSession: install aiohttp") from e
            self._session = aiohttp.ClientSession()
        return self._session

    def preprocess_synapse_for_request(self, target_axon_info: Any, synapse: Any, timeout: float = 12.0) -> Any:
        """10.5.0's: ``synapse`` made ready to send by other means (its ``to_headers()`` and JSON
        body, ``POST``ed to :meth:`_get_endpoint_url`): its timeout, its ``dendrite`` terminal
        info (external IP, version, a fresh nonce, :attr:`uuid`, hotkey), its ``axon`` one and the
        signature over ``{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}``. Nonces are
        ``time.time_ns()``, kept strictly rising across calls (so two made in one nanosecond tick
        are not refused as replays). Returns ``synapse``, changed in place."""
        terminal = _terminal_class(synapse)
        ip, port, hotkey = _target(target_axon_info)
        nonce = self._last_nonce = max(time.time_ns(), self._last_nonce + 1)
        synapse.timeout = timeout
        synapse.dendrite = terminal(
            ip=self.external_ip,
            version=_native.VERSION_AS_INT,
            nonce=nonce,
            uuid=self.uuid,
            hotkey=self._native.hotkey,
        )
        synapse.axon = terminal(ip=ip, port=port, hotkey=hotkey)
        synapse.dendrite.signature = self._native.sign_synapse(nonce, hotkey, self.uuid, synapse.body_hash)
        return synapse

    def _get_endpoint_url(self, target_axon: Any, request_name: str) -> str:
        """10.5.0's URL of a synapse's route on an axon (``0.0.0.0`` for an axon at this
        dendrite's own external IP)."""
        host = "0.0.0.0" if target_axon.ip == str(self.external_ip) else target_axon.ip
        return f"http://{host}:{target_axon.port}/{request_name}"

    def process_server_response(self, server_response: Any, json_response: Dict[str, Any], local_synapse: Any) -> None:
        """10.5.0's: ``local_synapse`` updated in place from an answer it was sent for by other
        means (``server_response``: anything with ``status`` and ``headers``, such as an aiohttp
        response). On 200 the answer's fields replace the local ones (one that does not take is
        left); otherwise the axon's status is the HTTP status and the body's ``message``. Then
        the terminal infos take the answer's ``bt_header_*`` values over their own, and the
        dendrite's status is the axon's."""
        if server_response.status == 200:
            answer = type(local_synapse)(**json_response)
            for key in local_synapse.model_dump().keys():
                try:
                    setattr(local_synapse, key, getattr(answer, key))
                except Exception:  # 10.5.0 leaves a field that does not take as it was
                    pass
        else:
            if local_synapse.axon is None:
                local_synapse.axon = _terminal_class(local_synapse)()
            local_synapse.axon.status_code = server_response.status
            local_synapse.axon.status_message = json_response.get("message")
        sent = _classes().Synapse.from_headers(server_response.headers)
        for name in ("dendrite", "axon"):
            mine, theirs = getattr(local_synapse, name), getattr(sent, name)
            if mine is None:
                mine = _terminal_class(local_synapse)()
                setattr(local_synapse, name, mine)
            # As 10.5.0: the merged values are set without validating them again.
            mine.__dict__.update({**mine.model_dump(exclude_none=True), **theirs.model_dump(exclude_none=True)})
        local_synapse.dendrite.status_code = local_synapse.axon.status_code
        local_synapse.dendrite.status_message = local_synapse.axon.status_message

    def log_exception(self, exception: BaseException) -> None:
        """10.5.0's: logs ``exception`` with an error id (``dendrite_rs.http`` logger; debug for a
        timeout or a connection's OS error, else error)."""
        error_id = str(uuid_module.uuid4())
        quiet = (asyncio.TimeoutError,) + _aiohttp_errors("ClientOSError")
        level = logging.DEBUG if isinstance(exception, quiet) else logging.ERROR
        _log.log(level, "%s#%s: %s", type(exception).__name__, error_id, exception)

    def process_error_message(self, synapse: Any, request_name: str, exception: BaseException) -> Any:
        """10.5.0's: ``synapse``'s dendrite status and message for a request that failed with
        ``exception`` (sent by other means), as 10.5.0 maps its exceptions: 503 unavailable, 408
        timeout, 400, 500, 504, else 422 ``Failed to parse response``. Changed in place and
        returned."""
        self.log_exception(exception)
        status_code, status_message = _error_mapping().get(type(exception), ("422", "Failed to parse response"))
        if status_code:
            synapse.dendrite.status_code = status_code
        elif isinstance(exception, _aiohttp_errors("ClientResponseError")):
            synapse.dendrite.status_code = str(getattr(exception, "code", ""))
        message = f"{status_message}: {exception}"
        if isinstance(exception, _aiohttp_errors("ClientConnectorError")):
            message = f"{status_message} at {synapse.axon.ip}:{synapse.axon.port}/{request_name}"
        elif isinstance(exception, asyncio.TimeoutError):
            message = f"{status_message} after {synapse.timeout} seconds"
        synapse.dendrite.status_message = message
        return synapse

    def _log_outgoing_request(self, synapse: Any) -> None:
        """10.5.0's request log line (``dendrite_rs.http`` logger, debug). This dendrite's own
        calls do not write it; it is here for code that sends by other means."""
        if synapse.axon is not None and _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "dendrite | --> | %s B | %s | %s | %s:%s | 0 | Success",
                synapse.get_total_size(),
                synapse.name,
                synapse.axon.hotkey,
                synapse.axon.ip,
                synapse.axon.port,
            )

    def _log_incoming_response(self, synapse: Any) -> None:
        """10.5.0's answer log line (``dendrite_rs.http`` logger, debug), as
        :meth:`_log_outgoing_request`."""
        if synapse.axon is not None and synapse.dendrite is not None and _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "dendrite | <-- | %s B | %s | %s | %s:%s | %s | %s",
                synapse.get_total_size(),
                synapse.name,
                synapse.axon.hotkey,
                synapse.axon.ip,
                synapse.axon.port,
                synapse.dendrite.status_code,
                synapse.dendrite.status_message,
            )

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
            synapse = _classes().Synapse()
        async for item in self._stream(_target(target_axon), synapse, timeout, deserialize):
            yield item

    async def _stream(
        self, target: Tuple[str, int, str], synapse: Any, timeout: float, deserialize: bool
    ) -> AsyncGenerator[Any, None]:
        """10.5.0's ``call_stream``: the user's ``process_streaming_response`` reads the chunks
        (from a stand-in for aiohttp's response: ``content.iter_any()``, ``status``,
        ``headers``), then ``extract_response_json`` gives the fields of the final synapse."""
        local = synapse.model_copy()
        parts = _parts(local, timeout)
        loop = asyncio.get_running_loop()
        response = _StreamedResponse()
        final: asyncio.Future = loop.create_future()

        def done(result: _Result) -> None:
            status, http_status, body, dendrite, axon, phases, _fields = result
            self.last_phases = [dict(zip(_native.PHASES, phases))]
            response._finish(http_status, dendrite, axon)
            if http_status and http_status != 200 and body:
                response._chunks.put_nowait(body)  # 10.5.0 streams an error answer's body too
            response._chunks.put_nowait(_END)
            if not final.done():
                final.set_result(result)

        handle = self._native.start_stream(loop, response._chunks.put_nowait, done, target, parts)
        try:
            async for item in local.process_streaming_response(response):
                yield item
            result = await final
        finally:
            if not final.done():  # cancelled, or the consumer stopped early
                handle.cancel()
        status, http_status, _body, dendrite_info, axon_info, _phases, _fields = result
        if http_status == 200 and status == 200:
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
        terminal = _terminal_class(local)
        local.dendrite = terminal(**dendrite_info)
        local.axon = terminal(**axon_info)
        self._remember(local)
        yield local.deserialize() if deserialize else local

    async def _send(self, targets: List[Tuple[str, int, str]], synapse: Any, timeout: float) -> List[_Result]:
        """One dump of the synapse, one Rust call for every axon, awaited without blocking."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def done(results: List[_Result]) -> None:
            if not future.done():
                future.set_result(results)

        handle = self._native.start(loop, done, targets, _parts(synapse, timeout))
        try:
            return await future
        except asyncio.CancelledError:
            handle.cancel()
            raise

    def _finish(
        self,
        synapse: Any,
        target: Tuple[str, int, str],
        result: _Result,
        timeout: float,
        deserialize: bool,
    ) -> Any:
        """The synapse after one axon's answer, as 10.5.0's ``process_server_response`` leaves
        it: on 200 the answer's fields replace the sent ones (a body the class rejects is 422),
        the terminal infos are the answer's merged with its headers."""
        status, http_status, _body, dendrite_info, axon_info, _phases, fields = result
        if http_status == 200 and status == 200 and fields is not None:
            try:
                # Every field of the answer replaces the sent one (10.5.0 copies them one by one
                # onto its copy of the synapse, validating each again), and its `dendrite` and
                # `axon` are already the merged infos: one validation makes the result.
                local = type(synapse)(**fields)
            except Exception as e:  # the class rejects the answer: 10.5.0's 422
                dendrite_info["status_code"] = 422
                dendrite_info["status_message"] = f"Failed to parse response: {e}"
                dendrite_info["process_time"] = None
            else:
                self._remember(local)
                return local.deserialize() if deserialize else local
        # No answer to take: the sent synapse with the call's infos (`model_copy(update=)` sets
        # them as validated here, without the class's validate-on-assignment).
        terminal = _terminal_class(synapse)
        update = {"timeout": timeout, "dendrite": terminal(**dendrite_info), "axon": terminal(**axon_info)}
        local = synapse.model_copy(update=update)
        self._remember(local)
        return local.deserialize() if deserialize else local

    def _remember(self, synapse: Any) -> None:
        """What 10.5.0 keeps of a finished call in ``synapse_history``: a bare ``Synapse`` with
        its timeout and terminal infos (not its fields, which can be large)."""
        if self.synapse_history.maxlen == 0:
            return
        bare = _classes().Synapse(timeout=synapse.timeout, dendrite=synapse.dendrite, axon=synapse.axon)
        self.synapse_history.append(bare)


_log = logging.getLogger("dendrite_rs.http")


class _Keypair:
    """``Dendrite.keypair`` for a dendrite made from a URI, a mnemonic or a key file: what code
    reads of a bittensor keypair, backed by the native key (its secret stays in Rust)."""

    crypto_type = 1  # sr25519
    ss58_format = 42

    def __init__(self, dendrite: Dendrite) -> None:
        self._native = dendrite._native

    @property
    def ss58_address(self) -> str:
        return self._native.hotkey

    @property
    def public_key(self) -> bytes:
        return self._native.public_key

    def sign(self, data: Union[str, bytes]) -> bytes:
        """``data`` (text is UTF-8) signed: 64 bytes of sr25519, as ``Keypair.sign``."""
        return self._native.sign(data.encode() if isinstance(data, str) else bytes(data))

    def __repr__(self) -> str:
        return f"<Keypair (address={self.ss58_address})>"


def _aiohttp_errors(*names: str) -> Tuple[type, ...]:
    """aiohttp's exception classes of these names (none without aiohttp)."""
    try:
        import aiohttp
    except ImportError:
        return ()
    return tuple(getattr(aiohttp, name) for name in names)


def _error_mapping() -> Dict[type, Tuple[Optional[str], str]]:
    """10.5.0's exception classes → (status code, message), looked up by exact class."""
    mapping: Dict[type, Tuple[Optional[str], str]] = {asyncio.TimeoutError: ("408", "Request timeout")}
    names = [
        ("ClientConnectorError", "503", "Service unavailable"),
        ("ClientResponseError", None, "Client response error"),
        ("ClientPayloadError", "400", "Payload error"),
        ("ClientError", "500", "Client error"),
        ("ServerTimeoutError", "504", "Server timeout error"),
        ("ServerDisconnectedError", "503", "Service disconnected"),
        ("ServerConnectionError", "503", "Service connection error"),
    ]
    for name, code, message in names:
        for cls in _aiohttp_errors(name):
            mapping[cls] = (code, message)
    return mapping


def _terminal_class(synapse: Any) -> Any:
    """The ``TerminalInfo`` class of a synapse's own ``dendrite`` field."""
    current = getattr(synapse, "dendrite", None)
    return type(current) if current is not None else _classes().TerminalInfo


_replaced: Dict[str, Any] = {}


def install() -> None:
    """Makes ``bittensor.Dendrite`` (and ``bittensor.dendrite``) ours on bittensor 10.x, so
    that existing validator code builds this dendrite unchanged. Idempotent; :func:`uninstall`
    puts the originals back."""
    bt = _bittensor()
    for name in ("Dendrite", "dendrite"):
        current = getattr(bt, name, None)
        if current is not Dendrite and name not in _replaced:
            _replaced[name] = current
            setattr(bt, name, Dendrite)


def uninstall() -> None:
    """Undoes :func:`install`."""
    bt = _bittensor()
    for name, original in list(_replaced.items()):
        setattr(bt, name, original)
        del _replaced[name]


def _parts(synapse: Any, timeout: float) -> Tuple[str, float, str, List[Tuple[str, str]], str, int]:
    """What Rust needs of the synapse, dumped once per call: its name, the timeout, its own
    fields as ``json.dumps`` writes them, the ``bt_header_input_obj_*`` headers, the body
    hash and the total size (the synapse's timeout is set first, as 10.5.0 does)."""
    synapse.timeout = timeout
    dump = synapse.model_dump()
    own = {k: v for k, v in dump.items() if k not in BASE_FIELDS}
    fields_json = (", " + json.dumps(own)[1:-1]) if own else ""
    required = _required(type(synapse))
    input_headers = [
        input_header(field, value)
        for field, value in dump.items()
        if field in required and value is not None and field not in ("name", "timeout")
    ]
    return (
        type(synapse).__name__,
        float(timeout),
        fields_json,
        input_headers,
        synapse.body_hash,
        int(synapse.get_total_size()),
    )


def input_header(field: str, value: Any) -> Tuple[str, str]:
    """10.5.0's ``bt_header_input_obj_{field}`` header of a required field: base64 of the JSON
    of its type's empty value (``type(value)()``), never the value (``TypeError`` when that is
    no JSON)."""
    return (f"bt_header_input_obj_{field}", base64.b64encode(json.dumps(type(value)()).encode()).decode())


#: The end of a streamed answer's chunks.
_END = object()


class _Content:
    """``response.content`` of aiohttp, for ``process_streaming_response``: the chunks as they
    arrive."""

    def __init__(self, chunks: asyncio.Queue[Any]) -> None:
        self._chunks = chunks

    async def iter_any(self) -> AsyncGenerator[bytes, None]:
        while True:
            chunk = await self._chunks.get()
            if chunk is _END:
                return
            yield chunk

    def iter_chunks(self) -> AsyncGenerator[Tuple[bytes, bool], None]:
        async def chunks() -> AsyncGenerator[Tuple[bytes, bool], None]:
            async for chunk in self.iter_any():
                yield chunk, True

        return chunks()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_any()])


class _StreamedResponse:
    """What ``process_streaming_response`` and ``extract_response_json`` get in place of
    aiohttp's response: ``content``, and once the answer ended its ``status`` and ``headers``
    (the ``bt_header_*`` the answer's terminal infos hold; also as ``_raw_headers``)."""

    def __init__(self) -> None:
        self._chunks: asyncio.Queue[Any] = asyncio.Queue()
        self.content = _Content(self._chunks)
        self.status: Optional[int] = None
        self.headers: Dict[str, str] = {}
        self._raw_headers: Tuple[Tuple[bytes, bytes], ...] = ()

    def _finish(self, status: int, dendrite: Dict[str, Any], axon: Dict[str, Any]) -> None:
        self.status = status or None
        headers: Dict[str, str] = {}
        for side, info in (("axon", axon), ("dendrite", dendrite)):
            for key, value in info.items():
                if value is not None:
                    headers[f"bt_header_{side}_{key}"] = str(value)
        self.headers = headers
        self._raw_headers = tuple((k.encode(), v.encode()) for k, v in headers.items())


__all__ = [
    "BASE_FIELDS",
    "Dendrite",
    "StreamingSynapse",
    "Synapse",
    "TerminalInfo",
    "install",
    "uninstall",
]
