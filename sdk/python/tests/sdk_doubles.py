"""Test doubles shared by the SDK tests: a fake clock, a scripted queue, a transport that holds
its sends, a real local collector.

Not a conftest: test modules import these names for their type hints.
"""

from __future__ import annotations

import gzip
import http.server
import json
import queue
import threading
from collections.abc import Mapping
from typing import Any, Callable

from clycyo_sdk import Client
from clycyo_sdk.testing import InMemoryTransport
from clycyo_sdk.transport import Response


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedSource:
    """A queue whose items arrive at given fake times; waiting advances the fake clock."""

    def __init__(self, clock: FakeClock, items: list[tuple[float, Any]] | None = None) -> None:
        self.clock = clock
        self.items = list(items or [])
        self.waits: list[float | None] = []

    def put(self, item: Any, at: float | None = None) -> None:
        self.items.append((self.clock.now if at is None else at, item))

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        self.waits.append(timeout if block else 0.0)
        if self.items:
            at, item = self.items[0]
            if at <= self.clock.now:
                self.items.pop(0)
                return item
            wait = at - self.clock.now
            if block and (timeout is None or wait <= timeout):
                self.clock.now = at
                self.items.pop(0)
                return item
        if block and timeout is None:
            raise AssertionError("would block forever")
        if block and timeout:
            self.clock.advance(timeout)
        raise queue.Empty


class BlockingTransport(InMemoryTransport):
    """Holds every send until released, so the queue behind it fills up."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        self.entered.set()
        self.release.wait(10)
        return super().send(body, headers)


class Collector:
    """A real HTTP collector on 127.0.0.1 that can fail the first requests.

    `fail_first` requests get `fail_status` (with `retry_after`); `reset_first` requests are
    cut off without an answer; `unanswered_first` are stored and then cut off (the client must
    retry, the collector sees duplicates); `close_after_answer` answers with `Connection: close`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, dict[str, Any]] = {}  # by event_id
        self.order: list[str] = []
        self.duplicates = 0
        self.requests = 0
        self.connections: set[tuple[str, int]] = set()
        self.headers: list[dict[str, str]] = []
        self.fail_first = 0
        self.fail_status = 503
        self.retry_after: str | None = "0"
        self.reset_first = 0
        self.close_after_answer = False
        self.close_silently_after_answer = False  # as a server ending an idle keep-alive
        self.unanswered_first = 0  # stored, then cut off before the answer
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real server

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                collector.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        with self.lock:
            self.requests += 1
            self.connections.add(request.client_address)
            self.headers.append(dict(request.headers.items()))
            if self.reset_first > 0:
                self.reset_first -= 1
                request.close_connection = True
                request.connection.close()  # no answer at all: a network error for the client
                return
            if self.fail_first > 0:
                self.fail_first -= 1
                self.answer(request, self.fail_status, {"error": "busy"}, self.retry_after)
                return
            if request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            payload = json.loads(body)
            accepted = duplicates = 0
            for event in payload["batch"]:
                if event["event_id"] in self.events:
                    duplicates += 1
                    continue
                self.events[event["event_id"]] = event
                self.order.append(event["event_id"])
                accepted += 1
            self.duplicates += duplicates
            if self.unanswered_first > 0:
                self.unanswered_first -= 1
                request.close_connection = True
                request.connection.close()
                return
        answer = {"accepted": accepted, "duplicates": duplicates, "ignored": 0, "rejected": []}
        self.answer(request, 200, answer, None)
        if self.close_silently_after_answer:
            request.close_connection = True

    def answer(
        self,
        request: http.server.BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        retry_after: str | None,
    ) -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            request.send_header("Retry-After", retry_after)
        if self.close_after_answer:
            request.send_header("Connection", "close")
            request.close_connection = True
        request.end_headers()
        request.wfile.write(data)

    def names(self) -> list[str]:
        with self.lock:
            return [self.events[event_id]["name"] for event_id in self.order]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


MakeClient = Callable[..., Client]
