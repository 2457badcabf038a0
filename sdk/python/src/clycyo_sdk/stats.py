"""What became of the events a client was given: counters, log-once, and the `on_error` hook.

Shared by the calling threads (which only count drops) and the consumer thread. It never logs or
hands out event contents except to the application's own `on_error` callback: log lines carry
counts, event names and the collector's reasons, never payloads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Callable

logger = logging.getLogger("clycyo_sdk")

ErrorCallback = Callable[["DeliveryError", list[dict[str, Any]]], None]

COUNTERS = ("dropped", "invalid", "sent", "duplicates", "ignored", "rejected", "failed")


class DeliveryError(Exception):
    """Why events did not reach the collector (or were refused by it); never holds a payload."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status  # the HTTP status, None for a network error or a local refusal


class Stats:
    """Counters of event outcomes. Reset in a forked child, which starts with an empty queue.

    - dropped: refused by `track()` because the queue was full or the client shut down
    - invalid: could not be encoded (bad field, too large), never sent
    - sent: accepted by the collector; duplicates: already there (a retry that had arrived)
    - ignored: answered but deliberately not stored by the collector (bot traffic, opted out)
    - rejected: refused one by one by the collector (kept in its quarantine)
    - failed: given up after the retries, or refused as a whole batch (401, 400, ...)
    """

    def __init__(self, on_error: ErrorCallback | None = None) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._logged: set[str] = set()
        self._on_error = on_error

    def add(self, counter: str, n: int = 1) -> None:
        with self._lock:
            self._counts[counter] += n

    def get(self, counter: str) -> int:
        return self._counts[counter]

    @property
    def lost(self) -> int:
        """Events handed to the consumer that will never reach the collector."""
        return self._counts["invalid"] + self._counts["failed"]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def log_once(
        self, key: str, level: int, message: str, *args: object, exc_info: bool = False
    ) -> None:
        """Log at `level` the first time `key` comes up, at DEBUG afterwards: no log floods."""
        with self._lock:
            first = key not in self._logged
            self._logged.add(key)
        logger.log(level if first else logging.DEBUG, message, *args, exc_info=exc_info)

    def report(self, error: DeliveryError, events: Sequence[dict[str, Any]]) -> None:
        """Hand lost events to the application's `on_error`; its own failures stay here."""
        if self._on_error is None:
            return
        try:
            self._on_error(error, list(events))
        except Exception:
            logger.exception("clycyo: the on_error callback raised")
