"""The durable intake log: accepted events reach disk here before the client hears `200`.

Requests hand their accepted events (and rejected ones, for the quarantine) to `append`; one
flusher thread gathers everything pending into a single record, writes it and calls `fdatasync`
once for the whole group (group commit), then resolves every waiting request at once. Each record
has a sequence number; the store remembers the last sequence it loaded, in the same transaction as
the rows, so replaying the log after a crash loads each record exactly once.

Records are framed as `length, crc32, seq` followed by a msgpack payload; a segment file is named
after the number of its first record and numbers its records one after another. A torn record at
the end of the last segment (power cut or `kill -9` during a write; or a tail of zeros, which some
file systems leave after a power cut) was never acknowledged and is cut off when the log is opened.
A record damaged on disk with intact records after it is not a torn tail: it is read back as
`DAMAGED` (its events are lost, the writer counts and logs it) and the records after it are kept
and loaded. Segments whose records the store has all loaded are deleted.

The log holds minimized `Event`s and `Rejection`s only, never an IP address. It does no parsing of
requests and no loading into the store (see `store/writer.py`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import numpy as np

from clycyo.model import Event, Rejection

log = logging.getLogger(__name__)

HEADER = struct.Struct("<IIQ")  # payload length, crc32 of payload, sequence number
_SEQ_OFFSET = 8  # where a header holds the sequence number
_SEGMENT_BYTES = 64 * 1024 * 1024


class Record(msgspec.Struct, array_like=True, gc=False):
    events: list[Event]
    rejections: list[Rejection]


_encode = msgspec.msgpack.Encoder().encode
decode_record = msgspec.msgpack.Decoder(Record).decode

# What a record that cannot be read back (damaged on disk) is loaded as: no events, so that the
# records after it are loaded. `frames` marks it with an empty payload, which no record has.
DAMAGED = Record([], [])


def record_of(payload: bytes) -> Record:
    """The record a payload from `frames` holds (`DAMAGED` for a damaged record's mark)."""
    return decode_record(payload) if payload else DAMAGED


class IntakeUnavailable(Exception):
    """The log cannot take more now (disk error, or the store lags too far); retry later."""

    def __init__(self, reason: str, retry_after_s: int = 5) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]
Handoff = Callable[[int, Record], None]


class IntakeLog:
    def __init__(
        self,
        folder: Path,
        *,
        max_backlog_bytes: int = 1024 * 1024 * 1024,
        segment_bytes: int = _SEGMENT_BYTES,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
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
        for stale in folder.glob("*.tmp"):
            stale.unlink()  # a rewrite cut short: the segment it was to replace is whole
        self.last_seq = self._open_tail()
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
            last_seq, good_end = first_seq - 1, 0
            for seq, _, end in _scan(first_seq, path):
                last_seq, good_end = seq, end
            if path.stat().st_size != good_end:
                log.warning("intake log: cut a torn record off %s", path.name)
                with path.open("r+b") as handle:
                    handle.truncate(good_end)
                    os.fsync(handle.fileno())
            self._path = path
        else:
            self._path = self.folder / f"{1:020d}.log"
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

    # Appending

    def append(self, events: list[Event], rejections: list[Rejection]) -> asyncio.Future[int]:
        """Queue events for the next group commit; the future resolves once they are on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self.fault is not None:
                raise IntakeUnavailable(self.fault)
            if self.unloaded_bytes > self.max_backlog_bytes:
                raise IntakeUnavailable("the store is behind; events wait in the intake log", 10)
            self._pending_events.extend(events)
            self._pending_rejections.extend(rejections)
            self._waiters.append((loop, future))
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
                    seq = self._write_locked(record)
                    error: BaseException | None = None
                except Exception as exc:  # any failure must reach the waiting requests
                    if not isinstance(exc, OSError):
                        log.exception("intake log: unexpected failure")
                    seq, error = 0, exc
            _resolve(waiters, seq, error)

    def _write_locked(self, record: Record) -> int:
        if self.fault_injection is not None:
            self.fault = self.fault_injection
            raise OSError(self.fault_injection)
        payload = _encode(record)
        seq = self.last_seq + 1
        frame = HEADER.pack(len(payload), zlib.crc32(payload), seq) + payload
        try:
            if self._size and self._size + len(frame) > self.segment_bytes:
                self._rotate(seq)
            written = os.write(self._fd, frame)
            if written != len(frame):
                raise OSError(f"short write ({written} of {len(frame)} bytes)")
            os.fdatasync(self._fd)
        except OSError as exc:
            # Leave no torn record behind: the next successful write must follow a whole one.
            self._cut_to(self._size)
            self.fault = f"intake log write failed: {exc.strerror or exc}"
            raise
        self._size += len(frame)
        self.last_seq = seq
        with self._lock:
            self._unloaded.append((seq, len(frame)))
            self.unloaded_bytes += len(frame)
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
        self._switch_to(self.folder / f"{next_seq:020d}.log")
        self._sync_folder()

    def _switch_to(self, path: Path) -> None:
        """Append to `path` from now on. The file is opened before the one in use is closed: a
        failure leaves the log as it was, and the number of a closed descriptor, which the
        process may give to any file or socket it opens next, is never written to."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(self._fd)
        self._fd, self._path, self._size = fd, path, os.fstat(fd).st_size

    def _sync_folder(self) -> None:
        """Make the folder's entries durable (a new segment, a segment replaced)."""
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

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
                for index, (_, path) in enumerate(segments):
                    last = segments[index + 1][0] - 1 if index + 1 < len(segments) else None
                    last = self.last_seq if last is None else last
                    if last > loaded_seq:
                        size = path.stat().st_size
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
            for seq, payload in _scan_after(first_seq, path, after_seq):
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

    def rewrite(self, keep: Callable[[Event], bool]) -> int:
        """Rewrite every segment without the events `keep` rejects (erasure); returns removed."""
        removed = 0
        replaced = False
        with self._write_lock:
            try:
                for first_seq, path in self._segments():
                    framed = []
                    changed = False
                    for seq, original, _ in _scan(first_seq, path):
                        record = record_of(original)
                        kept = [event for event in record.events if keep(event)]
                        payload = original
                        if not original:
                            # Damaged: what is left of it may hold the very events being removed.
                            log.error(
                                "intake log %s: record %d, damaged on disk, rewritten empty",
                                self.folder,
                                seq,
                            )
                            changed = True
                            payload = _encode(DAMAGED)
                        elif len(kept) != len(record.events):
                            removed += len(record.events) - len(kept)
                            changed = True
                            payload = _encode(Record(kept, record.rejections))
                        frame = HEADER.pack(len(payload), zlib.crc32(payload), seq) + payload
                        framed.append(frame)
                    if changed:
                        _replace(path, b"".join(framed))
                        replaced = True
                if replaced:
                    self._sync_folder()  # or a power cut could bring back what was removed
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


def _resolve(waiters: list[Waiter], seq: int, error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[int]]] = {}
    for loop, future in waiters:
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
        else:
            future.set_exception(IntakeUnavailable(f"intake log write failed: {error}"))


def _scan_after(first_seq: int, path: Path, after_seq: int) -> Iterator[tuple[int, bytes]]:
    """(seq, payload) of each record of a segment file numbered above `after_seq`, read as they
    are consumed (`frames` tells what the payload of a damaged record is). The records before it
    are stepped over by their headers, neither read nor checked: they were loaded already."""
    size = HEADER.size
    expected, offset = first_seq, 0
    with path.open("rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        while True:
            header = handle.read(size)
            if len(header) < size:
                return
            length, crc, seq = HEADER.unpack(header)
            end = offset + size + length
            if seq != expected or length == 0 or end > file_size:
                break
            if seq <= after_seq:
                handle.seek(end)
            else:
                payload = handle.read(length)
                if zlib.crc32(payload) != crc:
                    break
                yield seq, payload
            offset, expected = end, expected + 1
        # A damaged record, or the end of what was written: the rest, framed with care.
        handle.seek(offset)
        rest = handle.read()
    for seq, careful, _ in frames(rest, expected, after_seq):
        if careful is not None:
            yield seq, careful


def _scan(first_seq: int, path: Path) -> Iterator[tuple[int, bytes, int]]:
    """(seq, payload, end offset) of each record of a segment file (see `frames`)."""
    for seq, payload, end in frames(path.read_bytes(), first_seq):
        assert payload is not None  # nothing is skipped
        yield seq, payload, end


def frames(
    data: bytes, first_seq: int, skip_through: int = 0
) -> Iterator[tuple[int, bytes | None, int]]:
    """(seq, payload, end offset) of each record in `data`, a stretch of a segment that starts at
    the record numbered `first_seq`. Records numbered up to `skip_through` come without their
    payload (None), unchecked: they were loaded already.

    A record is whole when its frame fits, its number is the next one and its checksum holds.
    Where one is not, and an intact record follows further on, every number in between is
    damaged: each comes with an empty payload (see `DAMAGED`) and reading goes on from the intact
    record. Where none follows, this is the end of what was written (a torn tail, a record still
    being written, or beyond what was read) and reading stops.
    """
    offset = 0
    size = HEADER.size
    expected = first_seq
    while offset + size <= len(data):
        length, crc, seq = HEADER.unpack_from(data, offset)
        end = offset + size + length
        if (
            seq == expected
            and length > 0
            and end <= len(data)
            and (seq <= skip_through or zlib.crc32(data[offset + size : end]) == crc)
        ):
            yield seq, (None if seq <= skip_through else data[offset + size : end]), end
            offset, expected = end, expected + 1
            continue
        found = _next_intact(data, offset, expected)
        if found is None:
            return
        offset, intact_seq = found
        for damaged in range(expected, intact_seq):
            yield damaged, (None if damaged <= skip_through else b""), offset
        expected = intact_seq


def _next_intact(data: bytes, offset: int, expected: int) -> tuple[int, int] | None:
    """Where the first intact record after `offset` starts and its number, if one does: a
    header, found anywhere, numbered from `expected` on, whose frame fits and whose checksum
    holds. Only ever called on damage or at the end of what was written."""
    start = offset + 1
    highest = expected + (len(data) - start) // (HEADER.size + 1)  # records are 17 bytes or more
    candidates: list[int] = []
    for shift in range(8):  # sequence numbers at every byte offset, 8 bytes at a time
        first = start + _SEQ_OFFSET + shift
        count = (len(data) - first) // 8
        if count <= 0:
            continue
        seqs = np.frombuffer(data, "<u8", count=count, offset=first)
        hits = np.flatnonzero((seqs >= expected) & (seqs <= highest))
        candidates.extend((first - _SEQ_OFFSET + 8 * hits).tolist())
    for position in sorted(candidates):
        length, crc, seq = HEADER.unpack_from(data, position)
        start = position + HEADER.size
        end = start + length
        if length > 0 and end <= len(data) and zlib.crc32(data[start:end]) == crc:
            return position, seq
    return None
