"""An in-memory stand-in for the collector, for tests of the SDK and of applications using it.

`InMemoryTransport` answers like `POST /api/collect`: it reads the body (gzip or not), counts an
`event_id` it has seen as a duplicate, and can be told to fail the next requests. It keeps
everything in memory and opens no socket.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

from clycyo_sdk.transport import Response

Validator = Callable[[dict[str, Any]], Optional[str]]


@dataclass(frozen=True)
class RecordedRequest:
    headers: dict[str, str]
    body: bytes  # as sent (gzip when the client compresses)
    payload: dict[str, Any]  # the decoded JSON body


class InMemoryTransport:
    """Pass as `Client(..., transport=InMemoryTransport())`; read `.events` afterwards.

    `validator(event)` may return an error text to reject that one event, as the collector
    rejects an invalid event while accepting the rest of its batch.
    """

    def __init__(self, validator: Validator | None = None) -> None:
        self.validator = validator
        self.events: list[dict[str, Any]] = []  # accepted events, each once, in arrival order
        self.requests: list[RecordedRequest] = []  # every request, failed ones included
        self.duplicates = 0
        self.closed = False
        self._seen_ids: set[str] = set()
        self._script: deque[int | Exception | Response] = deque()
        self._changed = threading.Condition()
        self._pid = os.getpid()

    def fail_next(
        self, count: int = 1, *, status: int | None = 503, retry_after: str | None = None
    ) -> None:
        """Answer the next `count` requests with `status`, or a network error when it is None."""
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        body = json.dumps({"error": f"simulated {status}"}).encode()
        with self._changed:
            for _ in range(count):
                if status is None:
                    self._script.append(ConnectionError("InMemoryTransport: simulated failure"))
                else:
                    self._script.append(Response(status, headers, body))

    def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        self._after_fork()
        raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
        payload = json.loads(raw)
        with self._changed:
            self.requests.append(RecordedRequest(dict(headers), body, payload))
            self._changed.notify_all()
            if self._script:
                scripted = self._script.popleft()
                if isinstance(scripted, Exception):
                    raise scripted
                if isinstance(scripted, Response):
                    return scripted
            return self._accept(payload.get("batch", [payload]))

    def close(self) -> None:
        self.closed = True

    def wait_for(self, count: int, timeout_s: float = 5.0) -> bool:
        """Block until `count` events were accepted; True when they were."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.events) < count:
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    return False
                self._changed.wait(remaining_s)
        return True

    def clear(self) -> None:
        with self._changed:
            self.events.clear()
            self.requests.clear()
            self.duplicates = 0

    def _accept(self, batch: list[dict[str, Any]]) -> Response:
        accepted = duplicates = 0
        rejected = []
        for index, event in enumerate(batch):
            error = self.validator(event) if self.validator else None
            if error:
                rejected.append({"index": index, "error": error})
                continue
            event_id = event.get("event_id")
            if event_id is not None and event_id in self._seen_ids:
                duplicates += 1
                continue
            if event_id is not None:
                self._seen_ids.add(event_id)
            self.events.append(event)
            accepted += 1
        self.duplicates += duplicates
        answer = {
            "accepted": accepted,
            "duplicates": duplicates,
            "ignored": 0,
            "rejected": rejected,
        }
        return Response(200, {"content-type": "application/json"}, json.dumps(answer).encode())

    def _after_fork(self) -> None:
        # The lock may have been held by another thread at fork() time; it would never open.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._changed = threading.Condition()


__all__ = ["InMemoryTransport", "RecordedRequest"]
