"""Read another process's intake log as it grows: how the core loads what collectors accepted.

A collector process appends and syncs records to its own log folder; the core process polls it,
reading only the bytes added since the last poll and stopping at the first incomplete record
(one still being written); a record damaged on disk is read as `DAMAGED` when intact records
follow it, as in the local log (see `segments.frames`). Segments are read in order; once every
record of a segment is in the store, the core deletes it — never the newest, which the collector
may still be writing. A collector holds its log's writer lock while it runs (`segments.py`), which
is how the core knows whether one writes a log and keeps one from starting while it acts on the
log's behalf (`writer_stopped`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from clycyo.store.segments import (
    HEADER,
    Record,
    cut_torn_tail,
    frames,
    record_of,
    segment_path,
    try_writer_lock,
)

_MAX_READ_BYTES = 32 * 1024 * 1024
ROTATE_REQUEST = "rotate"  # a file in the log's folder: the core asks for a new segment


@dataclass(frozen=True)
class Position:
    first_seq: int  # the segment's name
    offset: int
    # The number of the record that starts at `offset`, where the reader knows it.
    next_seq: int = field(default=0, compare=False)


def collector_log(data_dir: Path, index: int) -> Path:
    """The log folder of collector process `index` (`intake/w0/`, …)."""
    return data_dir / "intake" / f"w{index}"


def collector_logs(data_dir: Path) -> list[Path]:
    """The log folders collector processes have made, this run's or an earlier one's."""
    return sorted(p for p in (data_dir / "intake").glob("w*") if p.is_dir())


class IntakeReader:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name  # the checkpoint key of this log in the store
        self._segment = 0  # first_seq of the segment being read
        self._offset = 0
        self._next_seq = 0  # the number of the record at `_offset`

    def _segments(self) -> list[int]:
        found = []
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        for name in names:
            if name.endswith(".log"):
                try:
                    found.append(int(name[:-4]))
                except ValueError:
                    continue
        return sorted(found)

    def _path(self, first_seq: int) -> Path:
        return segment_path(self.folder, first_seq)

    def end(self) -> Position:
        """Where the log ends now (what a reader must reach to have seen every record)."""
        segments = self._segments()
        if not segments:
            return Position(0, 0)
        last = segments[-1]
        try:
            return Position(last, self._path(last).stat().st_size)
        except FileNotFoundError:
            return Position(last, 0)

    def position(self) -> Position:
        return Position(self._segment, self._offset, self._next_seq)

    def exists(self) -> bool:
        """Whether the collector has created its log (it does when it starts)."""
        return self.folder.is_dir()

    def request_rotation(self) -> None:
        """Ask the collector writing this log to start a new segment (it looks every second)."""
        (self.folder / ROTATE_REQUEST).touch()

    def rotation_requested(self) -> bool:
        """Whether the request is still there: the collector removes it once it has started a
        new segment, or found nothing in the one it writes to rotate away."""
        return (self.folder / ROTATE_REQUEST).exists()

    @contextmanager
    def writer_stopped(self) -> Iterator[bool]:
        """Whether no process writes this log; while it is True, none can start to (a collector
        opening its log waits for the lock held here)."""
        fd = try_writer_lock(self.folder)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                os.close(fd)

    def cut_torn_tail(self) -> None:
        """Cut a torn record off the newest segment of a log no collector writes (within
        `writer_stopped`), as the collector would on opening it: what lies before it is whole."""
        segments = self._segments()
        if segments:
            cut_torn_tail(segments[-1], self._path(segments[-1]))

    def rotate_for_stopped_writer(self, next_seq: int) -> None:
        """Start the next segment on behalf of a collector that does not run (within
        `writer_stopped`): an empty segment keeps the sequence numbers going when one starts."""
        self._path(next_seq).touch()

    def lag_bytes(self) -> int:
        """About how many bytes lie between the read position and the end of the log."""
        end = self.end()
        if end.first_seq == self._segment:
            return max(0, end.offset - self._offset)
        behind = end.offset + max(0, self._size(self._segment) - self._offset)
        return behind + sum(
            self._size(s) for s in self._segments() if self._segment < s < end.first_seq
        )

    def reached(self, target: Position) -> bool:
        mine = (self._segment, self._offset)
        return mine >= (target.first_seq, target.offset)

    def poll(
        self, after_seq: int, max_events: int = 25_000
    ) -> tuple[list[tuple[int, Record]], Position]:
        """Complete records above `after_seq` from the current position, and where they end.

        The position moves only with `advance`, once the records are in the store: a load that
        fails reads the same records again.
        """
        found: list[tuple[int, Record]] = []
        events = 0
        segments = self._segments()
        if not segments:
            return found, self.position()
        segment, offset, next_seq = self._segment, self._offset, self._next_seq
        if segment not in segments or not offset:
            if segment not in segments:
                # Start (or the segment was deleted): the first segment that may hold after_seq+1.
                candidates = [s for s in segments if s <= after_seq + 1] or segments[:1]
                segment = candidates[-1]
            offset, next_seq = 0, segment
        while True:
            for seq, record, end in self._read_from(segment, offset, next_seq, after_seq):
                offset, next_seq = end, seq + 1
                if record is not None:
                    found.append((seq, record))
                    events += len(record.events)
                    if events >= max_events:
                        return found, Position(segment, offset, next_seq)
            later = [s for s in segments if s > segment]
            if not later or offset < self._size(segment):
                return found, Position(segment, offset, next_seq)
            segment, offset, next_seq = later[0], 0, later[0]

    def advance(self, position: Position) -> None:
        self._segment, self._offset = position.first_seq, position.offset
        self._next_seq = position.next_seq

    def _size(self, first_seq: int) -> int:
        try:
            return self._path(first_seq).stat().st_size
        except FileNotFoundError:
            return 0

    def _read_from(
        self, segment: int, offset: int, next_seq: int, after_seq: int
    ) -> Iterator[tuple[int, Record | None, int]]:
        """(seq, record, end offset) of the records from `offset` on, where the record numbered
        `next_seq` starts; records up to `after_seq`, loaded already, come without being checked
        or decoded (None)."""
        try:
            with self._path(segment).open("rb") as handle:
                handle.seek(offset)
                data = handle.read(_MAX_READ_BYTES)
                if len(data) == _MAX_READ_BYTES:
                    length, _, seq = HEADER.unpack_from(data)
                    if seq == next_seq and HEADER.size + length > len(data):
                        # One record larger than a read (a group commit of many large batches).
                        data += handle.read(HEADER.size + length - len(data))
        except FileNotFoundError:
            return
        for seq, payload, end in frames(data, next_seq, after_seq):
            yield seq, None if payload is None else record_of(payload), offset + end

    def loaded(self, seq: int) -> None:
        """Delete the segments whose records are all in the store, except the newest."""
        segments = self._segments()
        for index, first_seq in enumerate(segments[:-1]):
            if segments[index + 1] - 1 <= seq and first_seq != self._segment:
                self._path(first_seq).unlink(missing_ok=True)
