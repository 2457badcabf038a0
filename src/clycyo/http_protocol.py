"""The HTTP/1.1 protocol Clycyo serves with: uvicorn's httptools protocol, whose small writes made
in one turn of the event loop leave as one.

uvicorn writes a response's status line and headers when the application starts the response, and
its body when the application sends it: two writes, so two `send` system calls and, over loopback
or a LAN, two packets for a response of a few dozen bytes. Under many small requests (a tracker's
beacons, single server events) those calls are a large part of the event loop's time. Here the
transport of each connection holds what is written until the loop has run everything ready, then
writes it at once: the same bytes in the same order, one call. Once `FLUSH_BYTES` are held they
go at once, so a large or streamed body is not gathered in memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

FLUSH_BYTES = 64 * 1024


class CoalescingTransport:
    """A connection's transport whose writes within one turn of the loop are joined."""

    __slots__ = ("_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        held = self._held
        if not held:
            self._loop.call_soon(self.flush)
        held.append(bytes(data))
        self._held_bytes += len(data)
        if self._held_bytes >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        held = self._held
        if not held:
            return
        self._held = []
        self._held_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._held_bytes + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        # Everything else (reading, flow control, peer and socket details) is the transport's own.
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
