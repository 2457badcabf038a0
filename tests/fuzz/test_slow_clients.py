"""Clients that lie about their body's length or send it a byte at a time.

The server must keep serving everyone else meanwhile (one event loop, no worker to hang), answer
what it can read, and let a stalled body go after `limits.MAX_BODY_READ_S` (checked directly on
`http.read_body`, so the test need not wait half a minute).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from typing import Any

import pytest

from clycyo.collect import http, limits
from tests.fuzz.conftest import assert_still_healthy, stored_ids
from tests.serverproc import ServerProcess, Site

SLOW_CLIENTS = 30
# A request answered within this is served beside the slow clients, not after them: a server
# stuck behind one would answer only once the client timeout (`MAX_BODY_READ_S`) lets it go.
SERVED_WITHIN_S = limits.MAX_BODY_READ_S / 2


def raw_socket(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def answer_of(sock: socket.socket) -> tuple[int | None, bytes]:
    """The status and body of the one answer on `sock` (`None`: nothing came, or not HTTP)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head_, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head_)
        while length is not None and len(body) < int(length.group(1)):
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
    except (TimeoutError, ConnectionError):
        return None, b""
    if not data.startswith(b"HTTP/1.1 "):
        return None, b""
    return int(data.split(b" ", 2)[1]), body


def status_of(sock: socket.socket) -> int | None:
    return answer_of(sock)[0]


def test_slow_and_stalled_clients_do_not_stop_the_others(
    fuzz_server: ServerProcess, fuzz_site: Site
) -> None:
    # One event of its own per slow client, every body the same length.
    bodies = [b'{"name":"slow","event_id":"slow-%02d"}' % i for i in range(SLOW_CLIENTS)]
    headers_only = [raw_socket(fuzz_server) for _ in range(SLOW_CLIENTS)]
    byte_a_second = [raw_socket(fuzz_server) for _ in range(SLOW_CLIENTS)]
    promised_more = [raw_socket(fuzz_server) for _ in range(SLOW_CLIENTS)]
    auth = f"Authorization: Bearer {fuzz_site.secret_key}\r\n"
    request = head("/api/collect", len(bodies[0]), auth)
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
            for sock, body in zip(byte_a_second, bodies, strict=True):
                sock.sendall(body[step : step + 1])
            started = time.monotonic()
            status, answer = fuzz_site.post(
                "/api/collect", {"name": "meanwhile", "event_id": f"m{step}"}, secret=True
            )
            assert status == 200 and answer["accepted"] == 1, answer
            assert time.monotonic() - started < SERVED_WITHIN_S
            assert fuzz_server.get("/healthz")[0] == 200
            time.sleep(1.0)
        # The byte-a-second clients finish their bodies: each is answered and its event kept.
        for sock, body in zip(byte_a_second, bodies, strict=True):
            sock.sendall(body[4:])
        answers = [answer_of(sock) for sock in byte_a_second]
        assert [status for status, _ in answers] == [200] * SLOW_CLIENTS
        assert [json.loads(body)["accepted"] for _, body in answers] == [1] * SLOW_CLIENTS
    finally:
        for sock in headers_only + byte_a_second + promised_more:
            sock.close()
    slow = {f"slow-{i:02d}" for i in range(SLOW_CLIENTS)}
    assert stored_ids(fuzz_site, "slow", slow) == slow
    meanwhile = {"m0", "m1", "m2", "m3"}
    assert stored_ids(fuzz_site, "meanwhile", meanwhile) == meanwhile
    assert_still_healthy(fuzz_server, fuzz_site)


def test_content_length_shorter_than_the_body(fuzz_server: ServerProcess, fuzz_site: Site) -> None:
    body = b'{"name":"short","event_id":"short-1"}'
    auth = f"Authorization: Bearer {fuzz_site.secret_key}\r\n"
    with raw_socket(fuzz_server) as sock:
        sock.sendall(head("/api/collect", 8, auth) + body)
        status = status_of(sock)
    # The 8 bytes are not JSON and the rest is not a request: refused, and nothing stored.
    assert status == 400
    assert_still_healthy(fuzz_server, fuzz_site)
    assert fuzz_site.events(name="short") == []


@pytest.mark.parametrize("length", [b"-5", b"abc"])
def test_content_length_not_a_number(
    fuzz_server: ServerProcess, fuzz_site: Site, length: bytes
) -> None:
    with raw_socket(fuzz_server) as sock:
        sock.sendall(
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n{}" % length
        )
        status = status_of(sock)
    assert status == 400  # answered at once: no wait for a body of unknown length
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
