"""The queue between the application's threads and the consumer, and its lifecycle.

Bounded, non-blocking enqueue (drop and count when full, by events or by bytes); the consumer
thread started on the first event; flush and shutdown with deadlines; a fresh queue and thread in
a forked child; delivery inline in sync mode. It never raises into the caller and never builds an
event itself.

One thread sends at a time, so the transport's single connection is never shared: in the
background mode that is the consumer thread alone. Starting it and a `flush()` deciding to deliver
inline (no thread runs) happen under one lock, or a flush racing the first event would deliver
from its own thread while the consumer starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

from clycyo_sdk import lifecycle
from clycyo_sdk.batching import STOP, FlushMarker
from clycyo_sdk.consumer import Consumer, Pause
from clycyo_sdk.event_queue import EventQueue, estimated_bytes
from clycyo_sdk.events import Event
from clycyo_sdk.stats import ErrorCallback, Stats, logger

# The pieces that a forked child builds anew: (stats, source queue, pause) -> consumer.
ConsumerFactory = Callable[[Stats, EventQueue, Pause], Consumer]


class Dispatcher:
    def __init__(
        self,
        make_consumer: ConsumerFactory,
        *,
        max_queue_size: int,
        max_queue_bytes: int,
        sync_mode: bool = False,
        enabled: bool = True,
        exit_flush_timeout_s: float | None = 5.0,
        on_error: ErrorCallback | None = None,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self._make_consumer = make_consumer
        self._on_error = on_error
        self._max_queue_size = max_queue_size
        self._max_queue_bytes = max_queue_bytes
        self._sync_mode = sync_mode
        self._enabled = enabled
        self._exit_flush_timeout_s = exit_flush_timeout_s
        self._on_close = on_close
        self._closed = False
        # Not rebuilt in a child: it guards the rebuild itself (see _reset_after_fork).
        self._fork_lock = threading.Lock()
        self._build()
        lifecycle.register(self)

    def _build(self) -> None:
        # Inline delivery, starting the consumer thread, and shutdown: one at a time.
        self._lock = threading.Lock()
        self.stats = Stats(self._on_error)
        self.queue = EventQueue()
        self._pause = Pause()
        self._consumer = self._make_consumer(self.stats, self.queue, self._pause)
        self._started = False
        # Last: a thread that sees this process's pid must find everything else built.
        self._pid = os.getpid()

    def enqueue(self, event: Event) -> bool:
        if self._pid != os.getpid():
            self._reset_after_fork()
        if self._sync_mode:
            return self._send_now(event)
        if self._closed or not self._enabled:
            return self._refuse()
        events = self.queue
        # Checking then putting may overshoot by a few events under contention: a soft bound is
        # enough, and a lock here would cost every call.
        if events.qsize() >= self._max_queue_size:
            return self._drop_full("full", self._max_queue_size, "events")
        size_bytes = estimated_bytes(event)
        if events.bytes + size_bytes > self._max_queue_bytes:
            return self._drop_full("full_bytes", self._max_queue_bytes, "bytes")
        if not self._started:
            return self._put_first(event, size_bytes)
        events.put(event, size_bytes)
        return True

    def _put_first(self, event: Event, size_bytes: int) -> bool:
        with self._lock:
            if self._closed:
                return self._refuse()
            self.queue.put(event, size_bytes)
            if not self._started:
                lifecycle.keep(self)
                self._consumer.start()
                self._started = True
        return True

    def _drop_full(self, key: str, limit: int, unit: str) -> bool:
        self.stats.add("dropped")
        self.stats.log_once(
            key,
            logging.WARNING,
            "clycyo: the event queue is full (%d %s); dropping events until it drains",
            limit,
            unit,
        )
        return False

    def _send_now(self, event: Event) -> bool:
        if self._closed or not self._enabled:
            return self._refuse()
        with self._lock:
            before = self._undelivered()
            self.queue.put(event)
            self._consumer.drain()
            return self._undelivered() == before

    def _refuse(self) -> bool:
        if self._enabled:
            self.stats.add("dropped")
            self.stats.log_once("closed", logging.WARNING, "clycyo: event after shutdown()")
        return False

    def _undelivered(self) -> int:
        return self.stats.lost + self.stats.get("rejected")

    def flush(self, timeout_s: float | None) -> bool:
        if self._pid != os.getpid():
            self._reset_after_fork()
        try:
            with self._lock:
                if not self._consumer.running:
                    before = self.stats.lost
                    self._consumer.drain()
                    return self.stats.lost == before
            marker = FlushMarker(self.stats.lost)
            self.queue.put(marker)
            return marker.wait(timeout_s)
        except Exception:
            logger.exception("clycyo: flush() failed")
            return False

    def shutdown(self, timeout_s: float | None) -> bool:
        return self._begin_shutdown(timeout_s)()

    def _begin_shutdown(self, timeout_s: float | None) -> Callable[[], bool]:
        """Close the client and queue its last flush; the call returned waits for the flush.
        Split so that the exit waits for every client's flush at once, not one after another."""
        if self._pid != os.getpid():
            self._reset_after_fork()
        with self._lock:
            if self._closed:
                return lambda: True
            self._closed = True
        lifecycle.forget(self)
        started_at = time.monotonic()
        if not self._consumer.running:
            return lambda: self._finish_shutdown(None, started_at, timeout_s)
        if timeout_s is not None:
            # Backoff waits that would end after the deadline are given up at once.
            self._pause.set_deadline(started_at + timeout_s)
        marker = FlushMarker(self.stats.lost)
        self.queue.put(marker)
        self.queue.put(STOP)
        return lambda: self._finish_shutdown(marker, started_at, timeout_s)

    def _finish_shutdown(
        self, marker: FlushMarker | None, started_at: float, timeout_s: float | None
    ) -> bool:
        def remaining_s() -> float | None:
            if timeout_s is None:
                return None
            return max(timeout_s - (time.monotonic() - started_at), 0.0)

        try:
            if marker is None:
                return self.flush(remaining_s())
            delivered = marker.wait(remaining_s())
            self._consumer.join(remaining_s())
            if not delivered:
                logger.warning(
                    "clycyo: shut down with events undelivered (about %d still queued)",
                    self.queue.qsize(),
                )
            return delivered
        except Exception:
            logger.exception("clycyo: shutdown() failed")
            return False
        finally:
            if not self._consumer.running:
                self._close_transport()

    def _close_transport(self) -> None:
        try:
            self._on_close()
        except Exception:
            logger.warning("clycyo: closing the transport failed", exc_info=True)

    def _reset_after_fork(self) -> None:
        # The parent's queued events stay the parent's: the child starts empty, so none is
        # sent twice, and its thread starts with its first event. Called by the fork hook, and
        # by the first call in a child whose fork ran no Python hook (uWSGI forks its workers
        # so by default): the pid tells. Several threads of such a child may notice at once:
        # one rebuilds, or each would start a consumer of its own on a queue the others drop.
        with self._fork_lock:
            if self._pid != os.getpid():
                self._build()

    def _begin_exit_flush(self) -> Callable[[], object]:
        if not self._exit_flush_timeout_s:
            return lambda: None
        return self._begin_shutdown(self._exit_flush_timeout_s)
