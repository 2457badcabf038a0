"""Forward one ASGI HTTP request to the core process over its Unix socket, and stream the answer.

Collector processes answer the collect endpoints themselves and hand everything else (the APIs,
the dashboard, the tracker script) to the core process, which owns the event store. The hop is
plain HTTP/1.1 (h11) over a socket only the data folder's owner can open; the end user's address
travels in `x-clycyo-peer`, which the core believes only on that socket. This module knows
nothing of what the requests mean.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import h11

PEER_HEADER = b"x-clycyo-peer"
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        PEER_HEADER,
    }
)
# The collector's own server dates its answer: the core's `Date` would make two.
_SET_HERE = frozenset({b"date"})
_READ_BYTES = 65_536
# How long an ordinary request (the APIs, the dashboard) may wait for each part of the core's
# answer: a core that hangs does not hold the collector's connections, and their clients, for
# ever (`CLYCYO_CORE_TIMEOUT`).
CORE_TIMEOUT_S = 300.0
# The admin endpoints run the data's lifecycle (backup, export, import, a site's removal): such
# a job lasts as long as the data is large, minutes for a store of gigabytes, and is answered
# when done. It is waited for without a ceiling; the wait ends when its client goes away.
_UNBOUNDED_PREFIX = "/api/admin/"
_MAX_BODY_BYTES = 16 * 1024 * 1024  # the APIs behind the core take small bodies


async def forward(
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    socket_path: str,
    core_timeout_s: float = CORE_TIMEOUT_S,
) -> None:
    """Send the request to the core and relay its answer; 503 if the core cannot be reached,
    or when an ordinary request's answer (not an admin job's) stalls for `core_timeout_s`."""
    loop = asyncio.get_running_loop()
    # A plain socket, not asyncio's streams: a stream whose write failed raises that error on
    # every read, losing an answer the core sent before it closed (see `_exchange`).
    core = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    core.setblocking(False)
    try:
        await loop.sock_connect(core, socket_path)
    except OSError:
        core.close()
        await _bad_gateway(send)
        return
    state = {"started": False}

    async def tracked_send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            state["started"] = True
        await send(message)

    limit_s = None if scope["path"].startswith(_UNBOUNDED_PREFIX) else core_timeout_s
    try:
        await _exchange(scope, receive, tracked_send, core, limit_s)
    except OSError:
        if not state["started"]:
            await _bad_gateway(send)
        else:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        core.close()


async def _exchange(
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    core: socket.socket,
    limit_s: float | None,
) -> None:
    loop = asyncio.get_running_loop()
    connection = h11.Connection(h11.CLIENT)
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    # The body is read whole first, so the request goes out with its length: a chunked body
    # the core answers before reading would end in a reset instead of the answer.
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            await _answer(send, 413, b'{"error": "body too large"}')
            return
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    headers = [
        (k, v)
        for k, v in scope["headers"]
        if k.lower() not in _HOP_BY_HOP and k.lower() != b"content-length"
    ]
    if not any(k.lower() == b"host" for k, _ in headers):
        headers.append((b"host", b"clycyo"))
    client = scope.get("client")
    if client:
        headers.append((PEER_HEADER, str(client[0]).encode()))
    headers += [(b"connection", b"close"), (b"content-length", str(len(body)).encode())]
    request = h11.Request(method=scope["method"], target=target, headers=headers)
    outgoing = connection.send(request) or b""
    if body:
        outgoing += connection.send(h11.Data(data=body)) or b""
    outgoing += connection.send(h11.EndOfMessage()) or b""
    # The core may answer from the headers alone (a refusal) and close without reading the
    # rest: the write then fails, and the answer, already in this socket's buffer, is read below.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await loop.sock_sendall(core, outgoing)
    # Without a ceiling the wait must end when nobody waits for the answer any more.
    gone = None if limit_s is not None else asyncio.ensure_future(_disconnected(receive))
    try:
        await _relay(connection, core, send, limit_s, gone)
    finally:
        if gone is not None:
            gone.cancel()


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _relay(
    connection: h11.Connection,
    core: socket.socket,
    send: Any,
    limit_s: float | None,
    gone: asyncio.Future[None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    started = False
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError:
            event = h11.ConnectionClosed()
        if event is h11.NEED_DATA:
            reading = asyncio.ensure_future(loop.sock_recv(core, _READ_BYTES))
            waits: set[asyncio.Future[Any]] = {reading} if gone is None else {reading, gone}
            await asyncio.wait(waits, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                if gone is not None and gone.done():
                    return  # the client went away: nobody to answer
                chunk = b""  # the core said nothing for `limit_s`
            else:
                chunk = reading.result()
            if not chunk and not started:
                await _bad_gateway(send)
                return
            connection.receive_data(chunk)
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            response_headers = [
                (k, v)
                for k, v in event.headers
                if k.lower() not in _HOP_BY_HOP and k.lower() not in _SET_HERE
            ]
            await send(
                {
                    "type": "http.response.start",
                    "status": event.status_code,
                    "headers": response_headers,
                }
            )
            started = True
        elif isinstance(event, h11.Data):
            await send({"type": "http.response.body", "body": bytes(event.data), "more_body": True})
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            if not started:
                await _bad_gateway(send)
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return


async def _bad_gateway(send: Any) -> None:
    body = b'{"error": "the core process is not reachable; retry shortly"}'
    await _answer(send, 503, body, [(b"retry-after", b"2")])


async def _answer(
    send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
