"""The consumer: takes batches off the queue, delivers them, and settles flush markers.

It runs as one daemon thread per client, or inline in the caller's thread (sync mode, or a flush
when no thread is running); the loop is the same. It never lets an exception end the thread, and
never waits past a shutdown deadline between retries.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from clycyo_sdk.batching import Batch, Batcher, Source
from clycyo_sdk.delivery import Delivery
from clycyo_sdk.stats import DeliveryError, Stats, logger


class Pause:
    """The wait between retries: interruptible, and refused when it would pass the deadline."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._wake = threading.Event()
        self._deadline: float | None = None

    def __call__(self, delay_s: float) -> bool:
        """Wait `delay_s`; False (at once) when the deadline falls before the end of the wait."""
        end = self._clock() + delay_s
        while True:
            deadline = self._deadline
            if deadline is not None and end > deadline:
                return False
            remaining_s = end - self._clock()
            if remaining_s <= 0:
                return True
            self._wake.wait(remaining_s)
            self._wake.clear()

    def set_deadline(self, deadline: float) -> None:
        """Give up waiting after `deadline` (a `clock()` value); wakes a wait in progress."""
        self._deadline = deadline
        self._wake.set()


class Consumer:
    def __init__(self, source: Source, batcher: Batcher, delivery: Delivery, stats: Stats) -> None:
        self._source = source
        self._batcher = batcher
        self._delivery = delivery
        self._stats = stats
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread once; later calls do nothing."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="clycyo-sdk-consumer", daemon=True
                )
                self._thread.start()

    def join(self, timeout_s: float | None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def run_once(
        self, *, first_wait_s: float | None = None, linger_s: float | None = None
    ) -> Batch:
        """Take one batch, deliver it and settle the flush markers that closed it."""
        batch = self._batcher.next_batch(self._source, first_wait_s=first_wait_s, linger_s=linger_s)
        try:
            if batch.invalid:
                self._drop_invalid(batch)
            if batch.encoded:
                self._delivery.deliver(batch.events, batch.encoded)
        finally:
            # Settled even if delivery blew up, so that no flush() waits for its timeout.
            for marker in batch.markers:
                marker.settle(self._stats.lost)
        return batch

    def drain(self) -> None:
        """Deliver everything queued now, in the calling thread, without lingering."""
        while True:
            batch = self.run_once(first_wait_s=0.0, linger_s=0.0)
            if batch.stop or not (batch.encoded or batch.invalid or batch.markers):
                return

    def _run(self) -> None:
        while True:
            try:
                if self.run_once().stop:
                    break
            except Exception:  # a bug here must cost one batch, not every later event
                logger.exception("clycyo: the consumer failed on a batch")
        # A track() that found the client open an instant before shutdown() closed it queued its
        # event behind the stop: it is delivered too, not left behind.
        try:
            self.drain()
        except Exception:
            logger.exception("clycyo: the consumer failed on a batch")

    def _drop_invalid(self, batch: Batch) -> None:
        self._stats.add("invalid", len(batch.invalid))
        for event, reason in batch.invalid:
            # A reason's parenthesis holds the case's figures (an event's size): logged once per
            # kind, not once per figure, and the log-once memory stays small.
            kind = reason.split(" (", 1)[0]
            self._stats.log_once(
                f"invalid:{kind}", logging.WARNING, "clycyo: dropped an invalid event: %s", reason
            )
            self._stats.report(DeliveryError(f"invalid: {reason}"), [event])
