"""Raw ASGI plumbing for the collect endpoints: read a bounded body, answer with JSON.

The collect path skips the web framework on purpose (each layer costs requests per second); this
module is the little it needs instead. It knows HTTP, not events.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import msgspec

from clycyo.collect import limits
from clycyo.http_protocol import READ_DEADLINE

Scope = dict[str, Any]
Message = dict[str, Any]

_encode = msgspec.json.encode
_DRAIN_LIMIT_BYTES = 16 * limits.MAX_BODY_BYTES
_GZIP_MAGIC = b"\x1f\x8b"
_VARY_ORIGIN = (b"vary", b"Origin")


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def headers_dict(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope["headers"])


def _too_large() -> BodyError:
    return BodyError(413, f"body larger than {limits.MAX_BODY_BYTES} bytes")


async def read_body(scope: Scope, receive: Any, headers: dict[bytes, bytes]) -> bytes:
    """The request body, inflated if gzip; `BodyError` (413 or 400) when it is too large or bad."""
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            declared_bytes = int(declared)
        except ValueError:
            raise BodyError(400, "Content-Length is not a number") from None
        if declared_bytes > _DRAIN_LIMIT_BYTES:
            raise _too_large()  # not worth reading: answered at once, the rest is discarded
    chunks: list[bytes] = []
    size = 0
    # A client that promised more than it sends (or sends a byte a second) is answered and let
    # go. Clycyo's HTTP protocol times the body from the end of the headers and wakes this
    # `receive` when it is due; under another server each wait is bounded here (which costs
    # microseconds a request).
    served = scope.get("extensions", {}).get(READ_DEADLINE)
    timeout_s: float = limits.MAX_BODY_READ_S if served is None else served["timeout_s"]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if served is None:
            message = await _receive_by(receive, deadline, timeout_s)
        else:
            message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyError(400, "client went away before the body was complete")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > _DRAIN_LIMIT_BYTES:
                raise _too_large()
            if size <= limits.MAX_BODY_BYTES:
                chunks.append(chunk)
        if not message.get("more_body", False):
            break
        if served is not None and served["passed"]:
            raise _late(timeout_s)
    if size > limits.MAX_BODY_BYTES:
        # Read to the end so that the client, still sending, hears the 413 instead of a reset.
        raise _too_large()
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    encoding = headers.get(b"content-encoding", b"").strip().lower()
    if encoding in (b"gzip", b"x-gzip"):  # x-gzip is gzip (RFC 9110, 8.4.1.3)
        return inflate(body)
    if encoding not in (b"", b"identity"):
        raise BodyError(400, f"unsupported Content-Encoding {encoding.decode('latin-1')!r}")
    return body


def _late(timeout_s: float) -> BodyError:
    return BodyError(408, f"body not complete within {timeout_s:g} s of the headers")


async def _receive_by(receive: Any, deadline: float, timeout_s: float) -> Message:
    try:
        async with asyncio.timeout_at(deadline):
            return await receive()  # type: ignore[no-any-return]
    except TimeoutError:
        raise _late(timeout_s) from None


def inflate(body: bytes) -> bytes:
    """A gzip body inflated: every member of it, one after the other (RFC 1952, as `gzip -d`
    and browsers read it), at most `MAX_INFLATED_BYTES` in all."""
    pieces: list[bytes] = []
    room = limits.MAX_INFLATED_BYTES
    rest = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            # One byte more than there is room for tells a body too large from one that fits.
            piece = inflater.decompress(rest, room + 1)
        except zlib.error as exc:
            raise BodyError(400, f"gzip body cannot be inflated: {exc}") from None
        if len(piece) > room:
            raise BodyError(413, f"inflated body larger than {limits.MAX_INFLATED_BYTES} bytes")
        if not inflater.eof:
            raise BodyError(400, "gzip body is truncated")
        pieces.append(piece)
        room -= len(piece)
        rest = inflater.unused_data
        if not rest:
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if not rest.startswith(_GZIP_MAGIC):
            raise BodyError(400, "gzip body: bytes after the last gzip member are not gzip")


def cors_headers(origin: bytes | None, allowed: bool) -> list[tuple[bytes, bytes]]:
    """The CORS headers of an answer: the origin when it is allowed, and `Vary: Origin` always,
    since whether the origin is echoed depends on it."""
    if origin is not None and allowed:
        return [(b"access-control-allow-origin", origin), _VARY_ORIGIN]
    return [_VARY_ORIGIN]


def with_headers(send: Any, extra_headers: list[tuple[bytes, bytes]]) -> Any:
    """`send`, adding `extra_headers` to the answer's headers whatever its status."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra_headers]}
        await send(message)

    return sending


async def send_json(
    send: Any,
    status: int,
    payload: Any,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = _encode(payload)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_empty(send: Any, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
