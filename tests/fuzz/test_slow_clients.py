"""Clients that lie about their body's length or send it a byte at a time.

The server must keep serving everyone else meanwhile (one event loop, no worker to hang), answer
what it can read, and let a stalled body go after `limits.MAX_BODY_READ_S` (checked directly on
`http.read_body`, so the test need not wait half a minute).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from clycyo.collect import http, limits
from tests.fuzz.conftest import assert_still_healthy
from tests.serverproc import ServerProcess, Site

SLOW_CLIENTS = 30


def raw_socket(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def status_of(sock: socket.socket) -> int | None:
    try:
        data = sock.recv(4096)
    except (TimeoutError, ConnectionError):
        return None
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data.split(b" ", 2)[1])


def test_slow_and_stalled_clients_do_not_stop_the_others(
    fuzz_server: ServerProcess, fuzz_site: Site
) -> None:
    body = b'{"name":"slow","event_id":"slow-1"}'
    headers_only = [raw_socket(fuzz_server) for _ in range(SLOW_CLIENTS)]
    byte_a_second = [raw_socket(fuzz_server) for _ in range(SLOW_CLIENTS)]
    promised_more = [raw_socket(fuzz_server) for _ in range(SLOW_CLIENTS)]
    request = head("/api/collect", len(body), f"Authorization: Bearer {fuzz_site.secret_key}\r\n")
    try:
        for sock in promised_more:
            sock.sendall(head("/api/collect", 10_000) + b'{"name":')
        for sock in headers_only:
            sock.sendall(request[:20])
        for sock in byte_a_second:
            sock.sendall(request)
        for step in range(4):
            for sock in headers_only:
                sock.sendall(request[20 + step : 21 + step])
            for sock in byte_a_second:
                sock.sendall(body[step : step + 1])
            started = time.monotonic()
            status, answer = fuzz_site.post(
                "/api/collect", {"name": "meanwhile", "event_id": f"m{step}"}, secret=True
            )
            assert status == 200, answer
            assert time.monotonic() - started < 5.0  # a busy machine is slow; a stuck one hangs
            assert fuzz_server.get("/healthz")[0] == 200
            time.sleep(1.0)
        # The byte-a-second clients finish their bodies: they are answered normally.
        for sock in byte_a_second:
            sock.sendall(body[4:])
        assert {status_of(sock) for sock in byte_a_second} == {200}
    finally:
        for sock in headers_only + byte_a_second + promised_more:
            sock.close()
    assert_still_healthy(fuzz_server, fuzz_site)


def test_content_length_shorter_than_the_body(fuzz_server: ServerProcess, fuzz_site: Site) -> None:
    body = b'{"name":"short","event_id":"short-1"}'
    auth = f"Authorization: Bearer {fuzz_site.secret_key}\r\n"
    with raw_socket(fuzz_server) as sock:
        sock.sendall(head("/api/collect", 8, auth) + body)
        status = status_of(sock)
    assert status is not None and status < 500
    assert_still_healthy(fuzz_server, fuzz_site)


def test_content_length_not_a_number(fuzz_server: ServerProcess, fuzz_site: Site) -> None:
    with raw_socket(fuzz_server) as sock:
        sock.sendall(b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}")
        status = status_of(sock)
    assert status is None or status < 500
    assert_still_healthy(fuzz_server, fuzz_site)


def test_a_stalled_body_is_answered_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_BODY_READ_S", 0.2)
    messages = [{"type": "http.request", "body": b'{"na', "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the rest never comes
        raise AssertionError("unreachable")

    async def read() -> bytes:
        return await http.read_body({"headers": []}, receive, {b"content-length": b"1000"})

    started = time.monotonic()
    with pytest.raises(http.BodyError) as refused:
        asyncio.run(read())
    assert refused.value.status == 408
    assert time.monotonic() - started < 2.0
