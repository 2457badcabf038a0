"""Cutting the queue into batches by count, by bytes and by time.

The batcher is handed the queue and a clock; it never starts a thread and never touches the
network, so tests drive it with a pre-filled queue and a fake clock. Its only state is the event
that did not fit in the previous batch, which opens the next one.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from clycyo_sdk.events import Event, InvalidEvent, encode, finalize

# Room for '{"batch":[' ... '],"sent_at":1732612345678.123}' around the events.
ENVELOPE_BYTES = 64


class Source(Protocol):
    """What the batcher reads from: `queue.SimpleQueue`, `queue.Queue` or a test double."""

    def get(self, block: bool = ..., timeout: float | None = ...) -> Any: ...


class Stop:
    """The sentinel `shutdown()` queues last: the consumer delivers what came before and ends."""


STOP = Stop()


class FlushMarker:
    """Queued by `flush()`; settled once every event queued before it has been dealt with."""

    __slots__ = ("_done", "lost_after", "lost_before")

    def __init__(self, lost_before: int) -> None:
        self._done = threading.Event()
        self.lost_before = lost_before
        self.lost_after = lost_before

    def settle(self, lost_total: int) -> None:
        self.lost_after = lost_total
        self._done.set()

    def wait(self, timeout_s: float | None) -> bool:
        """True when settled in time and no event was lost in between."""
        return self._done.wait(timeout_s) and self.lost_after == self.lost_before


@dataclass
class Batch:
    events: list[Event] = field(default_factory=list)  # wire shapes, for error reports
    encoded: list[bytes] = field(default_factory=list)
    markers: list[FlushMarker] = field(default_factory=list)
    invalid: list[tuple[Event, str]] = field(default_factory=list)  # event and reason
    stop: bool = False
    size_bytes: int = ENVELOPE_BYTES

    def __len__(self) -> int:
        return len(self.encoded)


class Batcher:
    def __init__(
        self,
        *,
        flush_at: int,
        max_batch_bytes: int,
        flush_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.flush_at = flush_at
        self.max_batch_bytes = max_batch_bytes
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._carry: tuple[Event, bytes] | None = None

    def next_batch(
        self,
        source: Source,
        *,
        first_wait_s: float | None = None,
        linger_s: float | None = None,
    ) -> Batch:
        """Wait up to `first_wait_s` (None: forever) for a first item, then gather more for up to
        `linger_s` (default `flush_interval_s`) until `flush_at` events or `max_batch_bytes`.

        A flush marker or the stop sentinel ends the batch at once, so `flush()` never waits
        for the time limit.
        """
        batch = Batch()
        if self._carry is not None:
            wire, data = self._carry
            self._carry = None
            self._append(batch, wire, data)
        else:
            item = _get(source, first_wait_s)
            if item is None or not self._take(batch, item):
                return batch
        linger_s = self.flush_interval_s if linger_s is None else linger_s
        deadline = self._clock() + linger_s
        while len(batch) < self.flush_at:
            item = _get(source, max(deadline - self._clock(), 0.0))
            if item is None or not self._take(batch, item):
                break
        return batch

    def _take(self, batch: Batch, item: Any) -> bool:
        """Add one queue item; False when the batch must end here."""
        if isinstance(item, FlushMarker):
            batch.markers.append(item)
            return False
        if isinstance(item, Stop):
            batch.stop = True
            return False
        try:
            wire = finalize(item)
            data = encode(wire)
        except InvalidEvent as exc:
            batch.invalid.append((item, str(exc)))
            return True
        if len(data) + ENVELOPE_BYTES > self.max_batch_bytes:
            batch.invalid.append((wire, f"event is larger than max_batch_bytes ({len(data)} B)"))
            return True
        if batch.encoded and batch.size_bytes + len(data) + 1 > self.max_batch_bytes:
            self._carry = (wire, data)
            return False
        self._append(batch, wire, data)
        return True

    @staticmethod
    def _append(batch: Batch, wire: Event, data: bytes) -> None:
        batch.events.append(wire)
        batch.encoded.append(data)
        batch.size_bytes += len(data) + (1 if len(batch.encoded) > 1 else 0)


def _get(source: Source, timeout_s: float | None) -> Any:
    """The next item, or None when none came within `timeout_s` (None: wait forever)."""
    try:
        if timeout_s is None:
            return source.get()
        if timeout_s <= 0:
            return source.get(block=False)
        return source.get(timeout=timeout_s)
    except queue.Empty:
        return None
