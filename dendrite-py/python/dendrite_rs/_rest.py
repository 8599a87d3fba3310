"""Signed REST requests of ``dendrite_rs.http.Dendrite`` (``request``, ``get``, ``post``, …): bittensor
11's subnets send their own requests (any method and path, JSON, Server-Sent Events) signed with
btauth/1 or Epistula v2; Rust signs, sends, fans out under one deadline and reads the answers,
Python gets one :class:`Response` per axon, which reads like httpx's."""

from __future__ import annotations

import asyncio
import datetime
import json as json_module
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _native

#: The schemes a request can be signed with.
AUTH_SCHEMES = ("none", "btauth", "epistula")


class Event(NamedTuple):
    """One Server-Sent Event: its type (``message`` unless named), its data, the last event id."""

    event: str
    data: str
    id: str


class Headers(Mapping[str, str]):
    """An answer's headers, looked up in any case (as httpx's); iterates lower-case names."""

    def __init__(self, pairs: List[Tuple[str, str]]) -> None:
        self._pairs = pairs
        self._map: Dict[str, str] = {}
        for name, value in pairs:
            self._map.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def multi_items(self) -> List[Tuple[str, str]]:
        """Every header, repeats included, in order."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._map!r})"


class Response:
    """One axon's answer: ``status_code``, ``headers``, ``content``, ``text``, ``json()``,
    ``elapsed`` as httpx has them, and ``axon``, ``phases``, ``answer_signed`` (the answer's
    Epistula signature verified: ``True``/``False``, ``None`` when it carried none),
    ``outcome`` (``success``, ``timeout``, ``unavailable``, ``dropped``, ``refused``,
    ``peer_error``, ``local_error``), ``message``, and a streamed answer's ``events``."""

    def __init__(self, axon: Any, reply: _native.RestReply) -> None:
        self.axon = axon
        self.status_code: int = reply.status_code
        #: Whether the axon answered (else ``status_code`` is the dendrite's own: 408, 503, …).
        self.answered: bool = reply.answered
        self.headers = Headers(reply.headers)
        self.content: bytes = reply.content
        self.events: List[Event] = [Event(*e) for e in reply.events]
        #: Seconds from the call's start to the first event, for a streamed answer.
        self.first_event: Optional[float] = reply.first_event
        self.elapsed = datetime.timedelta(seconds=reply.elapsed)
        self.phases: Dict[str, float] = dict(zip(_native.PHASES, reply.phases))
        self.outcome: str = reply.outcome
        self.message: str = reply.message
        self.answer_signed: Optional[bool] = reply.answer_signed
        self.bytes_sent: int = reply.bytes_sent
        self.bytes_received: int = reply.bytes_received

    @property
    def text(self) -> str:
        """The body as text (UTF-8; undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``json.JSONDecodeError`` when it is none)."""
        return json_module.loads(self.content)

    @property
    def is_success(self) -> bool:
        """Whether the axon answered 2xx (and signed, where signed answers were required)."""
        return self.outcome == "success"

    def raise_for_status(self) -> Response:
        """This response, or ``RuntimeError`` naming its status and message when it failed."""
        if not self.is_success:
            raise RuntimeError(f"{self.status_code} {self.outcome}: {self.message or self.text[:200]}")
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.outcome}]>"


def request_parts(
    method: str,
    path: str,
    json: Any,
    content: Union[bytes, str, None],
    headers: Optional[Mapping[str, str]],
    auth: str,
    timeout: float,
    max_answer_bytes: int,
    stream: bool,
    require_signed_answers: bool,
) -> _native.RequestParts:
    """What Rust takes of a request: ``json`` is dumped (and typed ``application/json``),
    ``content`` sent as it is; one of them at most."""
    if json is not None and content is not None:
        raise ValueError("give json or content, not both")
    if auth not in AUTH_SCHEMES:
        raise ValueError(f"auth must be one of {AUTH_SCHEMES}, not {auth!r}")
    sent = dict(headers or {})
    if json is not None:
        body = json_module.dumps(json).encode()
        if not any(k.lower() == "content-type" for k in sent):
            sent["content-type"] = "application/json"
    elif isinstance(content, str):
        body = content.encode()
    else:
        body = bytes(content or b"")
    return (
        method,
        path,
        [(str(k), str(v)) for k, v in sent.items()],
        body,
        auth,
        float(timeout),
        int(max_answer_bytes),
        bool(stream),
        bool(require_signed_answers),
    )


class StreamEvent(NamedTuple):
    """One event of a live request stream: the axon it came from (as given), that axon's
    position in the call, and the event."""

    axon: Any
    position: int
    event: Event


#: The end of a live stream's events.
_END = object()


class RequestStream:
    """A live request (``Dendrite.stream``): ``async for item in stream`` gives a
    :class:`StreamEvent` per event as it arrives, across all axons (``stream.of(i)`` the events of
    axon ``i`` alone); ``await stream.responses()`` every axon's :class:`Response` once the call
    ended. Cancelling the iterating task, or :meth:`cancel`, cancels the requests."""

    def __init__(self, axons: List[Any], start: Any) -> None:
        self._axons = axons
        loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._done: asyncio.Future[List[Response]] = loop.create_future()

        def on_event(item: Tuple[int, Tuple[str, str, str]]) -> None:
            index, event = item
            self._queue.put_nowait(StreamEvent(self._axons[index], index, Event(*event)))

        def done(replies: List[_native.RestReply]) -> None:
            if not self._done.done():
                self._done.set_result([Response(a, r) for a, r in zip(self._axons, replies)])
            self._queue.put_nowait(_END)

        self._handle = start(loop, on_event, done)

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    return
                yield item
        except asyncio.CancelledError:
            self.cancel()
            raise

    async def of(self, index: int) -> AsyncIterator[Event]:
        """The events of axon ``index`` alone (the others' are passed over)."""
        async for item in self:
            if item.position == index:
                yield item.event

    async def responses(self) -> List[Response]:
        """Every axon's :class:`Response`, once the call ended (events not read are dropped)."""
        return await self._done

    def cancel(self) -> None:
        """Cancels the requests still running."""
        if not self._done.done():
            self._handle.cancel()
