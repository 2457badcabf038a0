"""Writes of one turn of the event loop leave a connection as one; the bytes and their order are
uvicorn's own, for small responses, pipelined requests and large streamed bodies. A client that
stops sending a request's headers or body is answered `408` and let go."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from clycyo.http_protocol import (
    ANSWER_GRACE_S,
    FLUSH_BYTES,
    CoalescingHttpToolsProtocol,
    CoalescingTransport,
)
from tests.serverproc import ServerProcess


class RecordingTransport:
    """Stands in for the socket's transport: keeps each write it is given."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def coalescing(loop: asyncio.AbstractEventLoop) -> tuple[CoalescingTransport, RecordingTransport]:
    inner = RecordingTransport()
    return CoalescingTransport(inner, loop), inner  # type: ignore[arg-type]


def test_writes_of_one_turn_leave_as_one_and_the_next_turn_writes_again() -> None:
    async def scenario() -> list[bytes]:
        transport, inner = coalescing(asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"")
        transport.write(memoryview(b"body"))
        assert inner.writes == [] and transport.get_write_buffer_size() == 23
        await asyncio.sleep(0)
        transport.write(b"second")
        await asyncio.sleep(0)
        return inner.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"second"]


def test_a_large_write_goes_at_once() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        transport, inner = coalescing(asyncio.get_running_loop())
        transport.write(b"h" * 100)
        transport.write(b"x" * FLUSH_BYTES)
        at_once = [len(w) for w in inner.writes]
        await asyncio.sleep(0)
        return at_once, [len(w) for w in inner.writes]

    at_once, after_the_turn = asyncio.run(scenario())
    assert at_once == after_the_turn == [FLUSH_BYTES + 100]


def test_close_writes_what_is_held_first_and_nothing_follows_a_closed_transport() -> None:
    async def scenario() -> RecordingTransport:
        transport, inner = coalescing(asyncio.get_running_loop())
        transport.write(b"last words")
        transport.close()
        transport.write(b"too late")
        await asyncio.sleep(0)
        return inner

    inner = asyncio.run(scenario())
    assert inner.writes == [b"last words"] and inner.closed


def test_everything_else_is_the_transports_own() -> None:
    async def scenario() -> str:
        transport, _ = coalescing(asyncio.get_running_loop())
        return str(transport.get_extra_info("peername"))

    assert asyncio.run(scenario()) == "info:peername"


BIG = 3 * 1024 * 1024 + 17


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/big":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"0123456789abcdef" * 4096  # 64 KiB
        sent = 0
        while sent < BIG:
            piece = chunk[: BIG - sent]
            sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": sent < BIG})
        return
    body = path.encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free, http=CoalescingHttpToolsProtocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield free
    server.should_exit = True
    thread.join(10)


def read_response(sock: socket.socket, buffered: bytearray) -> bytes:
    """One response with a content-length or chunked body, exactly."""
    while b"\r\n\r\n" not in buffered:
        buffered += sock.recv(65536)
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    buffered[:] = rest
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    if b"content-length" in fields:
        size = int(fields[b"content-length"])
        while len(buffered) < size:
            buffered += sock.recv(65536)
        body = bytes(buffered[:size])
        del buffered[:size]
        return body
    body = bytearray()
    while True:
        while b"\r\n" not in buffered:
            buffered += sock.recv(65536)
        size_line, _, _ = bytes(buffered).partition(b"\r\n")
        size = int(size_line, 16)
        while len(buffered) < len(size_line) + 2 + size + 2:
            buffered += sock.recv(65536)
        body += buffered[len(size_line) + 2 : len(size_line) + 2 + size]
        del buffered[: len(size_line) + 2 + size + 2]
        if size == 0:
            return bytes(body)


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"".join(f"GET /r{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(5)))
        buffered = bytearray()
        assert [read_response(sock, buffered) for _ in range(5)] == [
            f"/r{i}".encode() for i in range(5)
        ]


def test_a_streamed_body_arrives_whole(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        body = read_response(sock, bytearray())
    assert len(body) == BIG
    assert body == (b"0123456789abcdef" * (BIG // 16 + 1))[:BIG]


# A client that stops sending is let go: a real server with a one-second client timeout.
CLIENT_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"CLYCYO_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT_S)}
    server = ServerProcess(tmp_path_factory.mktemp("impatient") / "data", env=env).start()
    yield server
    server.stop()


def answer_and_close(sock: socket.socket) -> tuple[bytes, bytes, float]:
    """Head and body of the one answer on `sock` (empty when none came), and the seconds until
    the server closed the connection."""
    started = time.monotonic()
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body, time.monotonic() - started


def timed_exchange(port: int, sent: bytes) -> tuple[bytes, bytes, float]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(sent)
        return answer_and_close(sock)


@pytest.mark.parametrize("body", [b"", b'{"name":'])
def test_a_collect_body_that_stops_coming_is_a_408_counted_from_the_headers(
    impatient_server: ServerProcess, body: bytes
) -> None:
    sent = b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + body
    head, answer, waited_s = timed_exchange(impatient_server.port, sent)
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert json.loads(answer) == {"error": "body not complete within 1 s of the headers"}
    assert b"connection: close" in head.lower()
    assert CLIENT_TIMEOUT_S - 0.2 < waited_s < CLIENT_TIMEOUT_S + 2


@pytest.mark.parametrize("path", ["/api/v1/query", "/v1/track", "/api/webhooks/stripe/x.org"])
def test_every_endpoints_body_is_bounded_too(impatient_server: ServerProcess, path: str) -> None:
    sent = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()
    head, _, waited_s = timed_exchange(impatient_server.port, sent)
    # Answered (408, or at once for an endpoint that needs no body to refuse), then let go.
    assert head.startswith(b"HTTP/1.1 "), head
    assert waited_s < CLIENT_TIMEOUT_S + ANSWER_GRACE_S + 2


@pytest.mark.parametrize("sent", [b"POST /api/coll", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"])
def test_headers_that_stop_coming_are_a_408(impatient_server: ServerProcess, sent: bytes) -> None:
    head, answer, waited_s = timed_exchange(impatient_server.port, sent)
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert json.loads(answer) == {"error": "request headers not complete within 1 s"}
    assert CLIENT_TIMEOUT_S - 0.2 < waited_s < CLIENT_TIMEOUT_S + 2


def test_a_connection_that_sends_nothing_is_closed(impatient_server: ServerProcess) -> None:
    head, _, waited_s = timed_exchange(impatient_server.port, b"")
    assert head == b""
    assert CLIENT_TIMEOUT_S - 0.2 < waited_s < CLIENT_TIMEOUT_S + 2


def test_the_next_requests_headers_are_timed_from_the_previous_answer(
    impatient_server: ServerProcess,
) -> None:
    with socket.create_connection(("127.0.0.1", impatient_server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        buffered = bytearray()
        assert json.loads(read_response(sock, buffered))["accepting"] is True
        sock.sendall(b"GET /hea")
        head, _, waited_s = answer_and_close(sock)
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert waited_s < CLIENT_TIMEOUT_S + 2


def test_a_body_in_pieces_within_the_time_is_read(impatient_server: ServerProcess) -> None:
    site = impatient_server.add_site()
    body = b'{"name": "patient", "event_id": "p-1"}'
    with socket.create_connection(("127.0.0.1", impatient_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
            % (site.secret_key.encode(), len(body))
        )
        for piece in (body[:10], body[10:20], body[20:]):
            time.sleep(CLIENT_TIMEOUT_S / 4)
            sock.sendall(piece)
        answer = json.loads(read_response(sock, bytearray()))
    assert answer["accepted"] == 1
    assert impatient_server.get("/healthz")[0] == 200


def test_a_body_that_stops_coming_is_one_line_in_the_log_not_a_traceback(
    own_server: ServerProcess,
) -> None:
    own_server.env["CLYCYO_CLIENT_TIMEOUT"] = str(CLIENT_TIMEOUT_S)
    server = own_server.start()
    partial = b"Host: x\r\nContent-Type: %s\r\nContent-Length: 100\r\n\r\n{"
    # Its time runs out while a Starlette endpoint waits for it: the protocol answers 408.
    sent = b"POST /api/v1/query HTTP/1.1\r\n" + partial % b"application/json"
    assert timed_exchange(server.port, sent)[0].startswith(b"HTTP/1.1 408 ")
    # The client goes away in the middle of a form's body.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\n" + partial % b"application/x-www-form-urlencoded")
        time.sleep(0.2)
    expected = [
        "POST /api/v1/query: request body not complete within 1 s",
        "POST /login: the client left before its request body was complete",
    ]
    deadline = time.monotonic() + 10
    while True:
        entries = [json.loads(line) for line in server.log_path.read_text().splitlines()]
        said = [e for e in entries if e["logger"] == "clycyo.web.error_pages"]
        if len(said) >= len(expected) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(e["level"], e["message"]) for e in said] == [("info", m) for m in expected]
    assert [e for e in entries if "error" in e or e["level"] == "error"] == []
    assert "Traceback" not in server.log_path.read_text()
