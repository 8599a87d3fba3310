"""A streamed 10.x answer as a synapse's ``process_streaming_response`` reads it: stand-ins for
aiohttp's response and its ``content``, fed the chunks as Rust hands them to the loop."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, Dict, Optional, Tuple

#: The end of a streamed answer's chunks.
END = object()


class Content:
    """``response.content`` of aiohttp, for ``process_streaming_response``: the chunks as they
    arrive."""

    def __init__(self, chunks: asyncio.Queue[Any]) -> None:
        self._chunks = chunks

    async def iter_any(self) -> AsyncGenerator[bytes, None]:
        while True:
            chunk = await self._chunks.get()
            if chunk is END:
                return
            yield chunk

    def iter_chunks(self) -> AsyncGenerator[Tuple[bytes, bool], None]:
        async def chunks() -> AsyncGenerator[Tuple[bytes, bool], None]:
            async for chunk in self.iter_any():
                yield chunk, True

        return chunks()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_any()])


class StreamedResponse:
    """What ``process_streaming_response`` and ``extract_response_json`` get in place of
    aiohttp's response: ``content``, and once the answer ended its ``status`` and ``headers``
    (the ``bt_header_*`` the answer's terminal infos hold; also as ``_raw_headers``)."""

    def __init__(self) -> None:
        #: The chunks as they arrive, then :data:`END`.
        self.chunks: asyncio.Queue[Any] = asyncio.Queue()
        self.content = Content(self.chunks)
        self.status: Optional[int] = None
        self.headers: Dict[str, str] = {}
        self._raw_headers: Tuple[Tuple[bytes, bytes], ...] = ()

    def finish(self, status: int, dendrite: Dict[str, Any], axon: Dict[str, Any]) -> None:
        self.status = status or None
        headers: Dict[str, str] = {}
        for side, info in (("axon", axon), ("dendrite", dendrite)):
            for key, value in info.items():
                if value is not None:
                    headers[f"bt_header_{side}_{key}"] = str(value)
        self.headers = headers
        self._raw_headers = tuple((k.encode(), v.encode()) for k, v in headers.items())
