"""The durable intake log: accepted events reach disk here before the client hears `200`.

Requests hand their accepted events (and rejected ones, for the quarantine) to `append`; one
flusher thread gathers everything pending into a single record, writes it and calls `fdatasync`
once for the whole group (group commit), then resolves every waiting request at once. A request
whose events cannot be encoded (a value of a type the log has no form for: a bug upstream) fails
alone: the group is encoded request by request then, and the others' are written. Each record
has a sequence number; the store remembers the last sequence it loaded, in the same transaction as
the rows, so replaying the log after a crash loads each record exactly once.

Records are framed and read back as `segments.py` says; a segment file is named after the number
of its first record and numbers its records one after another. A torn record at the end of the
last segment (power cut or `kill -9` during a write; or a tail of zeros, which some
file systems leave after a power cut) was never acknowledged and is cut off when the log is opened.
A record damaged on disk with intact records after it is not a torn tail: it is read back as
`DAMAGED` (its events are lost, the writer counts and logs it) and the records after it are kept
and loaded. Segments whose records the store has all loaded are deleted. The log holds its
folder's writer lock from open to close: a second process opening the folder waits, then gives up.

The log holds minimized `Event`s and `Rejection`s only, never an IP address. It does no parsing of
requests and no loading into the store (see `store/writer.py`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from clycyo.model import Event, Rejection
from clycyo.store.base import InUse
from clycyo.store.durable import fsync_path
from clycyo.store.segments import (
    DAMAGED,
    Record,
    cut_torn_tail,
    encode_record,
    frame,
    read_after,
    read_segment,
    record_of,
    segment_path,
    try_writer_lock,
)

log = logging.getLogger(__name__)

_SEGMENT_BYTES = 64 * 1024 * 1024


class IntakeUnavailable(Exception):
    """The log cannot take more now (disk error, or the store lags too far); retry later."""

    def __init__(self, reason: str, retry_after_s: int = 5) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class IntakeInUse(InUse):
    """Another process writes this log (a collector started twice, or a second server)."""


# A request waiting for the next group commit, and how much of the pending lists is its: (loop,
# future, events, rejections). A plain tuple: one is made per request on the event loop, and a
# NamedTuple's constructor costs six times as much.
Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[int], int, int]


Handoff = Callable[[int, Record], None]


class IntakeLog:
    def __init__(
        self,
        folder: Path,
        *,
        max_backlog_bytes: int = 1024 * 1024 * 1024,
        segment_bytes: int = _SEGMENT_BYTES,
        lock_wait_s: float = 10.0,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # The core holds a collector's lock for a moment when it starts a segment on behalf of
        # a collector that is not running: one starting then waits for it.
        self._writer_lock = _wait_for_writer_lock(folder, lock_wait_s)
        self.max_backlog_bytes = max_backlog_bytes
        self.segment_bytes = segment_bytes
        self.handoff: Handoff | None = None  # set by the writer: receives each durable record
        self.fault: str | None = None  # a write error not yet cleared; new appends are refused
        self.fault_injection: str | None = None  # tests set this to simulate a failing disk
        self._pending_events: list[Event] = []
        self._pending_rejections: list[Rejection] = []
        self._waiters: list[Waiter] = []
        # `_lock` guards the pending events and the accounting and is only ever held briefly,
        # since requests take it on the event loop. `_write_lock` serialises writes to the
        # segment file: the flusher holds it through the write and the fsync, and takes `_lock`
        # inside it only for a moment (never the other way round).
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._flusher_waiting = False  # only then does an append need to wake it
        self._stopping = False
        self._reopen_pending = False  # a rewrite could not reopen the segment in use
        self._loaded_seq = 0
        self._unloaded: collections.deque[tuple[int, int]] = collections.deque()
        self.unloaded_bytes = 0  # in the log and not yet in the store (see `resume`)
        try:
            for stale in folder.glob("*.tmp"):
                stale.unlink()  # a rewrite cut short: the segment it was to replace is whole
            self.last_seq = self._open_tail()
        except BaseException:
            os.close(self._writer_lock)
            raise
        self._thread = threading.Thread(target=self._run, name="intake-flusher", daemon=True)
        self._thread.start()

    # Segments

    def _segments(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.glob("*.log"):
            try:
                found.append((int(path.stem), path))
            except ValueError:
                continue
        return sorted(found)

    def _open_tail(self) -> int:
        """Open the last segment for appending, cutting off a torn record; return the last seq."""
        segments = self._segments()
        last_seq = 0
        if segments:
            first_seq, path = segments[-1]
            last_seq = cut_torn_tail(first_seq, path)
            self._path = path
        else:
            self._path = segment_path(self.folder, 1)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        return last_seq

    def oldest_seq(self) -> int | None:
        """The first sequence number of the oldest segment still on disk."""
        segments = self._segments()
        return segments[0][0] if segments else None

    def backlog_bytes(self) -> int:
        """Bytes on disk in the log, loaded or not."""
        return sum(path.stat().st_size for _, path in self._segments())

    @property
    def full(self) -> bool:
        """Whether the log holds as much not yet loaded as it may: events are refused until the
        store catches up (`append`, and the health reports, which say so)."""
        return self.unloaded_bytes > self.max_backlog_bytes

    # Appending

    def append(self, events: list[Event], rejections: list[Rejection]) -> asyncio.Future[int]:
        """Queue events for the next group commit; the future resolves once they are on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self.fault is not None:
                raise IntakeUnavailable(self.fault)
            if self.full:
                raise IntakeUnavailable("the store is behind; events wait in the intake log", 10)
            self._pending_events.extend(events)
            self._pending_rejections.extend(rejections)
            self._waiters.append((loop, future, len(events), len(rejections)))
            if self._flusher_waiting:
                self._wake.notify()
        return future

    def append_sync(self, events: list[Event], rejections: list[Rejection]) -> int:
        """Write one record from a thread that has no event loop (tests, tools); returns its seq."""
        with self._write_lock:
            return self._write_locked(Record(events, rejections))

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiters and not self._stopping:
                    self._flusher_waiting = True
                    self._wake.wait()
                    self._flusher_waiting = False
                if self._stopping and not self._waiters:
                    return
                record = Record(self._pending_events, self._pending_rejections)
                waiters = self._waiters
                self._pending_events, self._pending_rejections, self._waiters = [], [], []
            # Requests keep queueing for the next group while this one is written and synced.
            with self._write_lock:
                try:
                    try:
                        payload = encode_record(record)
                    except Exception:
                        record, payload, waiters = _encodable(record, waiters)
                    seq = self._write_locked(record, payload) if waiters else 0
                    error: BaseException | None = None
                except Exception as exc:  # any failure must reach the waiting requests
                    if not isinstance(exc, OSError):
                        log.exception("intake log: unexpected failure")
                    seq, error = 0, exc
            _resolve(waiters, seq, error)

    def _write_locked(self, record: Record, payload: bytes | None = None) -> int:
        """Write `record` (encoded: `payload`) as the next record and sync it; its number."""
        if self.fault_injection is not None:
            self.fault = self.fault_injection
            raise OSError(self.fault_injection)
        seq = self.last_seq + 1
        framed = frame(seq, encode_record(record) if payload is None else payload)
        try:
            if self._size and self._size + len(framed) > self.segment_bytes:
                self._rotate(seq)
            written = os.write(self._fd, framed)
            if written != len(framed):
                raise OSError(f"short write ({written} of {len(framed)} bytes)")
            os.fdatasync(self._fd)
        except OSError as exc:
            # Leave no torn record behind: the next successful write must follow a whole one.
            self._cut_to(self._size)
            self.fault = f"intake log write failed: {exc.strerror or exc}"
            raise
        self._size += len(framed)
        self.last_seq = seq
        with self._lock:
            self._unloaded.append((seq, len(framed)))
            self.unloaded_bytes += len(framed)
        self.fault = None
        if self.handoff is not None:
            self.handoff(seq, record)
        return seq

    def _cut_to(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            log.exception("intake log: could not cut a failed write off")

    def _rotate(self, next_seq: int) -> None:
        self._switch_to(segment_path(self.folder, next_seq))
        fsync_path(self.folder)  # the new segment's entry

    def _switch_to(self, path: Path) -> None:
        """Append to `path` from now on. The file is opened before the one in use is closed: a
        failure leaves the log as it was, and the number of a closed descriptor, which the
        process may give to any file or socket it opens next, is never written to."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(self._fd)
        self._fd, self._path, self._size = fd, path, os.fstat(fd).st_size

    def resume(self, loaded_seq: int) -> None:
        """Take up the log where the store left it, before the first append: `loaded_seq` is the
        last record the store has loaded from it.

        What the log holds beyond that counts as not loaded (towards `max_backlog_bytes`, and in
        `unloaded_bytes`), a segment at a time, until the store has it. And where the log ends
        before it (its last records were loaded and then lost: the last one damaged on disk and
        cut off as a torn tail, or the folder deleted or put back from an older copy), new
        records are numbered after it: given those numbers, the store would take them for
        loaded."""
        with self._write_lock:
            segments = self._segments()
            with self._lock:
                # Each segment's last record is the one before the next segment's first.
                following = [first for first, _ in segments[1:]] + [self.last_seq + 1]
                for (_, path), next_first in zip(segments, following, strict=True):
                    last = next_first - 1
                    if last > loaded_seq:
                        try:
                            size = path.stat().st_size
                        except FileNotFoundError:
                            continue  # loaded and deleted since (the core reads a collector's)
                        self._unloaded.append((last, size))
                        self.unloaded_bytes += size
            if self.last_seq > loaded_seq:
                log.info(
                    "intake log %s: records %d to %d (about %.1f MB) not yet in the store; loading",
                    self.folder,
                    loaded_seq + 1,
                    self.last_seq,
                    self.unloaded_bytes / 1e6,
                )
            if self.last_seq >= loaded_seq:
                return
            log.error(
                "intake log %s: ends at record %d, but the store has loaded up to %d;"
                " new records are numbered from %d",
                self.folder,
                self.last_seq,
                loaded_seq,
                loaded_seq + 1,
            )
            self._rotate(loaded_seq + 1)  # a segment is named after its first record
            self.last_seq = loaded_seq

    def rotate_now(self) -> None:
        """Start a new segment now (when asked to: the old one can then be deleted once loaded)."""
        with self._write_lock:
            if self._size:
                self._rotate(self.last_seq + 1)

    def clear_fault(self) -> bool:
        """Try a write again after a fault (called periodically); True once writes work."""
        with self._write_lock:
            if self.fault is None:
                return True
            if self.fault_injection is not None:
                return False
            if self._reopen_pending:
                try:
                    self._reopen()
                except OSError:
                    return False
            self.fault = None
            return True

    # Reading back, trimming

    def read(self, after_seq: int) -> Iterator[tuple[int, Record]]:
        """Every record with a sequence number above `after_seq`, in order, read as it is
        consumed: a reader that stops early has read and decoded no more than it took."""
        for first_seq, path in self._segments_after(after_seq):
            for seq, payload in read_after(first_seq, path, after_seq):
                yield seq, record_of(payload)

    def _segments_after(self, after_seq: int) -> list[tuple[int, Path]]:
        segments = self._segments()
        chosen = []
        for index, segment in enumerate(segments):
            next_first = segments[index + 1][0] if index + 1 < len(segments) else None
            if next_first is None or next_first - 1 > after_seq:
                chosen.append(segment)
        return chosen

    def loaded(self, seq: int) -> None:
        """The store holds every record up to `seq`: whole segments below it can go."""
        with self._lock:
            self._loaded_seq = max(self._loaded_seq, seq)
            unloaded = self._unloaded
            while unloaded and unloaded[0][0] <= self._loaded_seq:
                self.unloaded_bytes -= unloaded.popleft()[1]
        segments = self._segments()
        for index, (_, path) in enumerate(segments[:-1]):
            next_first = segments[index + 1][0]
            if next_first - 1 <= self._loaded_seq:
                path.unlink(missing_ok=True)

    def rewrite(
        self,
        keep: Callable[[Event], bool],
        keep_rejection: Callable[[Rejection], bool] | None = None,
    ) -> int:
        """Rewrite every segment without the events `keep` rejects (erasure), and without the
        rejections `keep_rejection` rejects, if given (a site's removal); returns the events
        removed."""
        removed = 0
        replaced = False
        with self._write_lock:
            try:
                for first_seq, path in self._segments():
                    frames = []
                    changed = False
                    for seq, original, _ in read_segment(first_seq, path):
                        record = record_of(original)
                        kept = [event for event in record.events if keep(event)]
                        rejections = record.rejections
                        if keep_rejection is not None:
                            rejections = [r for r in rejections if keep_rejection(r)]
                        payload = original
                        if not original:
                            # Damaged: what is left of it may hold the very events being removed.
                            log.error(
                                "intake log %s: record %d, damaged on disk, rewritten empty",
                                self.folder,
                                seq,
                            )
                            changed = True
                            payload = encode_record(DAMAGED)
                        elif len(kept) != len(record.events) or len(rejections) != len(
                            record.rejections
                        ):
                            removed += len(record.events) - len(kept)
                            changed = True
                            payload = encode_record(Record(kept, rejections))
                        frames.append(frame(seq, payload))
                    if changed:
                        _replace(path, b"".join(frames))
                        replaced = True
                if replaced:
                    fsync_path(self.folder)  # or a power cut could bring back what was removed
            finally:
                self._reopen()  # the segment in use may be a new file now
        return removed

    def _reopen(self) -> None:
        try:
            self._switch_to(self._path)
        except OSError as exc:
            # The descriptor in use may point at a replaced file: refuse until it is reopened.
            self.fault = f"intake log cannot be reopened: {exc.strerror or exc}"
            self._reopen_pending = True
            raise
        self._reopen_pending = False

    def close(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout_s)
        with self._write_lock:
            os.close(self._fd)
            os.close(self._writer_lock)


def _wait_for_writer_lock(folder: Path, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    while (fd := try_writer_lock(folder)) is None:
        if time.monotonic() >= deadline:
            raise IntakeInUse(f"intake log {folder} is written by another process")
        time.sleep(0.02)
    return fd


def _replace(path: Path, data: bytes) -> None:
    """Replace a file's contents at once: a crash leaves the old file or the new one whole."""
    temporary = path.with_suffix(".tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _encodable(record: Record, waiters: list[Waiter]) -> tuple[Record, bytes, list[Waiter]]:
    """A group whose record cannot be encoded, without the requests whose part cannot: the
    record of the others, its payload and their waiters. Each request left out is answered as
    the log being unavailable (its events are not acknowledged), and the error logged."""
    events: list[Event] = []
    rejections: list[Rejection] = []
    kept: list[Waiter] = []
    first_event = first_rejection = 0
    for waiter in waiters:
        _, _, event_count, rejection_count = waiter
        part = Record(
            record.events[first_event : first_event + event_count],
            record.rejections[first_rejection : first_rejection + rejection_count],
        )
        first_event += event_count
        first_rejection += rejection_count
        try:
            encode_record(part)
        except Exception as exc:
            # An event holds no address, so neither can the error; its type is what says most.
            log.exception(
                "intake log: a request's %d event(s) and %d rejection(s) cannot be encoded"
                " (%s); that request is refused, the others of its group are written",
                event_count,
                rejection_count,
                type(exc).__name__,
            )
            refused = IntakeUnavailable("the events could not be written to the intake log")
            _resolve([waiter], 0, refused)
            continue
        events.extend(part.events)
        rejections.extend(part.rejections)
        kept.append(waiter)
    whole = Record(events, rejections)
    return whole, encode_record(whole), kept


def _resolve(waiters: list[Waiter], seq: int, error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[int]]] = {}
    for loop, future, _, _ in waiters:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, futures, seq, error)
        except RuntimeError:
            continue  # that loop is closed; nobody waits any more


def _settle(futures: list[asyncio.Future[int]], seq: int, error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(seq)
        elif isinstance(error, IntakeUnavailable):
            future.set_exception(error)
        else:
            future.set_exception(IntakeUnavailable(f"intake log write failed: {error}"))
