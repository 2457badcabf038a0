"""The HTTP/1.1 protocol Clycyo serves with: uvicorn's httptools protocol, whose small writes made
in one turn of the event loop leave as one.

uvicorn writes a response's status line and headers when the application starts the response, and
its body when the application sends it: two writes, so two `send` system calls and, over loopback
or a LAN, two packets for a response of a few dozen bytes. Under many small requests (a tracker's
beacons, single server events) those calls are a large part of the event loop's time. Here the
transport of each connection holds what is written until the loop has run everything ready, then
writes it at once: the same bytes in the same order, one call. Once `FLUSH_BYTES` are held they
go at once, so a large or streamed body is not gathered in memory.

uvicorn bounds only the wait for a request on an idle kept-alive connection. A client that sends
part of a request's headers, or its headers and not all of its body, would hold its connection
(and the application task waiting for the body) for as long as it likes. Here each request's
headers must arrive within `client_timeout_s` of the connection opening or of the previous answer,
and its body within `client_timeout_s` of its headers. The application is told the body's deadline
(`scope["extensions"][READ_DEADLINE]`) and woken at it, so it can answer `408` in its own words;
one that has not answered a moment later gets this module's `408`, and the connection is closed.
A connection only notes when its awaited part is due (a clock read and two attributes per
request); one sweep per server, every `SWEEP_S` at most, finds those overdue. A timer per
request (`call_later` and its cancel, three times a request) cost the event loop about 7 µs of
the 15 an empty application's request costs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from clycyo.collect import limits

FLUSH_BYTES = 64 * 1024
# scope["extensions"][READ_DEADLINE]: {"timeout_s": how long after its headers the request's body
# is due, "passed": whether that time has passed}. When it passes, a `receive` still waiting for
# the body returns (an empty piece, more to come) so the application can see it.
READ_DEADLINE = "clycyo.read_deadline"
# How long an application woken at the deadline has to answer before the protocol does.
ANSWER_GRACE_S = 1.0
SWEEP_S = 1.0  # the most a deadline is overshot (a quarter of a shorter client timeout)


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
    client_timeout_s: float = limits.MAX_BODY_READ_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_due_at = 0.0  # the loop's time when the awaited part is late
        self._late: Callable[[], None] | None = None  # called then; None: nothing awaited
        self._head_begun = False  # a request's first bytes came, its headers are not complete
        self._in_body = False  # a request's headers came, its body is not complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._read_by(self.client_timeout_s, self._head_late)
        if not getattr(self.server_state, _SWEEPING, False):
            setattr(self.server_state, _SWEEPING, True)
            interval_s = min(SWEEP_S, self.client_timeout_s / 4)
            self.loop.call_later(interval_s, _sweep, self.loop, self.server_state, interval_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True

    def on_headers_complete(self) -> None:
        if self.parser.should_upgrade() and self._should_upgrade():
            self._stop_read_timer()  # a WebSocket: no longer this protocol's connection
            super().on_headers_complete()
            return
        # Set before uvicorn hands the scope to the application's task.
        self.scope["extensions"] = {
            READ_DEADLINE: {"timeout_s": self.client_timeout_s, "passed": False}
        }
        self._head_begun = False
        self._in_body = True
        super().on_headers_complete()
        self._read_by(self.client_timeout_s, self._body_late)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_body = False
        # The request is read: answering it may take as long as it takes.
        self._stop_read_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._in_body and not self.transport.is_closing():
            self._read_by(self.client_timeout_s, self._head_late)

    def _read_by(self, delay_s: float, late: Callable[[], None]) -> None:
        self._read_due_at = self.loop.time() + delay_s
        self._late = late

    def _stop_read_timer(self) -> None:
        self._late = None

    def _head_late(self) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a request is being answered; its answer's end starts the wait again
        if self._head_begun:
            self._answer_408("request headers not complete")
        self.transport.close()

    def _body_late(self) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self.pipeline or cycle.response_complete:
            # Answered already, or queued behind another request's answer: nothing more to say.
            self.transport.close()
            return
        cycle.keep_alive = False  # whatever the answer, the rest of this body is never read
        cycle.scope["extensions"][READ_DEADLINE]["passed"] = True
        cycle.message_event.set()  # a `receive` waiting for the body returns
        self._read_by(ANSWER_GRACE_S, self._unanswered)

    def _unanswered(self) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if not cycle.response_started:
            self._answer_408("request body not complete")
            # The application's own answer, if it ever comes, is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _answer_408(self, what: str) -> None:
        body = json.dumps({"error": f"{what} within {self.client_timeout_s:g} s"}).encode()
        head = [b"HTTP/1.1 408 Request Timeout\r\n"]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)


_SWEEPING = "clycyo_sweeping"  # set on a server's state once its sweep runs


def _sweep(loop: asyncio.AbstractEventLoop, state: Any, interval_s: float) -> None:
    """Call what each overdue connection waits for, then come back in `interval_s`."""
    now = loop.time()
    for connection in list(state.connections):
        late = getattr(connection, "_late", None)
        if late is not None and connection._read_due_at <= now:
            connection._late = None
            late()
    loop.call_later(interval_s, _sweep, loop, state, interval_s)


def with_client_timeout(client_timeout_s: float) -> type[CoalescingHttpToolsProtocol]:
    """The protocol with its requests' headers and bodies each due within `client_timeout_s`."""
    return type(
        "CoalescingHttpToolsProtocol",
        (CoalescingHttpToolsProtocol,),
        {"client_timeout_s": client_timeout_s},
    )
