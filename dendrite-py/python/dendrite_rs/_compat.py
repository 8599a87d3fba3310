"""bittensor 10.5.0's ``Dendrite`` helpers for code that sends synapses itself (public subnet
code does: ``preprocess_synapse_for_request``, ``session``, ``process_server_response``,
``process_error_message``, the log lines), as a mixin of ``dendrite_rs.http.Dendrite``; the
native key's face for ``Dendrite.keypair``; 10.5.0's exception table. The rules they follow
(nonces, signatures, terminal-info headers, the error table) are the Rust wire's, called here."""

from __future__ import annotations

import asyncio
import logging
import uuid as uuid_module
from typing import Any, Dict, Optional, Tuple, Union

from . import _native
from ._install import terminal_class
from ._wire import terminal_headers

_log = logging.getLogger("dendrite_rs.http")


def target_of(axon: Any) -> Tuple[str, int, str]:
    """``(ip, port, hotkey)`` of an ``AxonInfo``, an ``Axon`` or anything with those fields."""
    info = axon.info() if hasattr(axon, "info") and callable(axon.info) else axon
    try:
        return (str(info.ip), int(info.port), str(info.hotkey))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"an axon must have ip, port and hotkey (an AxonInfo), not {type(axon).__name__}") from None


class Compat:
    """10.5.0's helpers for requests sent by other means; mixed into ``Dendrite``, whose
    ``_native`` client signs, ``uuid`` and ``external_ip`` name it, and ``_session`` holds the
    aiohttp session."""

    _native: _native.HttpClient
    uuid: str
    external_ip: str
    _session: Any
    #: The uuid of requests prepared here and sent by other means: the dendrite's own, but not
    #: the one its calls name (:attr:`uuid`), so the two never race for nonce order at an axon.
    _prepared_uuid: str

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
        info (external IP, version, a fresh nonce, a uuid of this dendrite's kept for such requests,
        hotkey), its ``axon`` one and the signature over
        ``{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}``. Nonces are
        ``time.time_ns()``, kept strictly rising across calls (so two made in one nanosecond tick
        are not refused as replays). Returns ``synapse``, changed in place."""
        terminal = terminal_class(synapse)
        ip, port, hotkey = target_of(target_axon_info)
        nonce = self._native.next_nonce()
        synapse.timeout = timeout
        synapse.dendrite = terminal(
            ip=self.external_ip,
            version=_native.VERSION_AS_INT,
            nonce=nonce,
            uuid=self._prepared_uuid,
            hotkey=self._native.hotkey,
        )
        synapse.axon = terminal(ip=ip, port=port, hotkey=hotkey)
        signature = self._native.sign_synapse(nonce, hotkey, self._prepared_uuid, synapse.body_hash)
        synapse.dendrite.signature = signature
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
                local_synapse.axon = terminal_class(local_synapse)()
            local_synapse.axon.status_code = server_response.status
            local_synapse.axon.status_message = json_response.get("message")
        sent = terminal_headers(server_response.headers)
        for name, theirs in zip(("dendrite", "axon"), sent):
            mine = getattr(local_synapse, name)
            if mine is None:
                mine = terminal_class(local_synapse)()
                setattr(local_synapse, name, mine)
            # As 10.5.0: the merged values are set without validating them again.
            mine.__dict__.update({**mine.model_dump(exclude_none=True), **theirs})
        local_synapse.dendrite.status_code = local_synapse.axon.status_code
        local_synapse.dendrite.status_message = local_synapse.axon.status_message

    def log_exception(self, exception: BaseException) -> None:
        """10.5.0's: logs ``exception`` with an error id (``dendrite_rs.http`` logger; debug for a
        timeout or a connection's OS error, else error)."""
        error_id = str(uuid_module.uuid4())
        quiet = (asyncio.TimeoutError,) + aiohttp_errors("ClientOSError")
        level = logging.DEBUG if isinstance(exception, quiet) else logging.ERROR
        _log.log(level, "%s#%s: %s", type(exception).__name__, error_id, exception)

    def process_error_message(self, synapse: Any, request_name: str, exception: BaseException) -> Any:
        """10.5.0's: ``synapse``'s dendrite status and message for a request that failed with
        ``exception`` (sent by other means), as 10.5.0 maps its exceptions: 503 unavailable, 408
        timeout, 400, 500, 504, else 422 ``Failed to parse response``. Changed in place and
        returned."""
        self.log_exception(exception)
        status_code, status_message = error_mapping().get(type(exception), unmapped_error())
        if status_code:
            synapse.dendrite.status_code = status_code
        elif isinstance(exception, aiohttp_errors("ClientResponseError")):
            synapse.dendrite.status_code = str(getattr(exception, "code", ""))
        message = f"{status_message}: {exception}"
        if isinstance(exception, aiohttp_errors("ClientConnectorError")):
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


class NativeKeypair:
    """``Dendrite.keypair`` for a dendrite made from a URI, a mnemonic or a key file: what code
    reads of a bittensor keypair, backed by the native key (its secret stays in Rust)."""

    crypto_type = 1  # sr25519
    ss58_format = 42

    def __init__(self, native: _native.HttpClient) -> None:
        self._native = native

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


def aiohttp_errors(*names: str) -> Tuple[type, ...]:
    """aiohttp's exception classes of these names (none without aiohttp)."""
    try:
        import aiohttp
    except ImportError:
        return ()
    return tuple(getattr(aiohttp, name) for name in names)


def error_mapping() -> Dict[type, Tuple[Optional[str], str]]:
    """10.5.0's exception classes → (status code, message), looked up by exact class: the Rust
    wire's table (``_native.ERROR_MAPPING``; its ``TimeoutError`` is asyncio's, the others are
    aiohttp's, absent without aiohttp)."""
    mapping: Dict[type, Tuple[Optional[str], str]] = {}
    for name, code, message in _native.ERROR_MAPPING:
        found = (asyncio.TimeoutError,) if name == "TimeoutError" else aiohttp_errors(name)
        for cls in found:
            mapping[cls] = (None if code is None else str(code), message)
    return mapping


def unmapped_error() -> Tuple[str, str]:
    """What 10.5.0 sets for an exception :func:`error_mapping` does not name."""
    code, message = _native.UNMAPPED_ERROR
    return (str(code), message)
