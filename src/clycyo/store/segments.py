"""The intake log's segment files: how a record is framed, and how records are read back.

A segment file is named after the number of its first record (`segment_path`) and holds records
numbered one after another, each framed as `length, crc32, seq` followed by a msgpack payload
(`frame`). Reading back (`frames`, `read_segment`, `read_after`) checks each record's frame,
number and checksum: it stops at a torn tail (a record cut short, a tail of zeros) and steps
over a record damaged on disk to the intact ones after it, reading the damaged one as
`DAMAGED`. The local log (`intake.py`) and the core's reader of collectors' logs
(`intake_reader.py`) both read through here.

A log has one writer at a time: the process appending to a folder's segments holds the folder's
`writer.lock` (`try_writer_lock`) for as long as it runs, and the kernel lets go of it when the
process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np

from clycyo.model import Event, Rejection

log = logging.getLogger(__name__)

HEADER = struct.Struct("<IIQ")  # payload length, crc32 of payload, sequence number
_SEQ_OFFSET = 8  # where a header holds the sequence number


class Record(msgspec.Struct, array_like=True, gc=False):
    events: list[Event]
    rejections: list[Rejection]


encode_record = msgspec.msgpack.Encoder().encode
decode_record = msgspec.msgpack.Decoder(Record).decode

# What a record that cannot be read back (damaged on disk) is loaded as: no events, so that the
# records after it are loaded. `frames` marks it with an empty payload, which no record has.
DAMAGED = Record([], [])


def record_of(payload: bytes) -> Record:
    """The record a payload from `frames` holds (`DAMAGED` for a damaged record's mark)."""
    return decode_record(payload) if payload else DAMAGED


def frame(seq: int, payload: bytes) -> bytes:
    """A record as a segment holds it: its header, then its payload."""
    return HEADER.pack(len(payload), zlib.crc32(payload), seq) + payload


def segment_path(folder: Path, first_seq: int) -> Path:
    """The segment file whose first record is numbered `first_seq`."""
    return folder / f"{first_seq:020d}.log"


WRITER_LOCK = "writer.lock"


def try_writer_lock(folder: Path) -> int | None:
    """Take the lock of the log in `folder` if no other open file holds it: the descriptor that
    holds it (closing it lets go), or None while another writer, in this process or another,
    holds it."""
    fd = os.open(folder / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_after(first_seq: int, path: Path, after_seq: int) -> Iterator[tuple[int, bytes]]:
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


def cut_torn_tail(first_seq: int, path: Path) -> int:
    """Cut off what follows the last whole record of a segment file no process writes (a record
    cut short by a crash, a tail of zeros); returns the number of that last record."""
    last_seq, good_end = first_seq - 1, 0
    for seq, _, end in read_segment(first_seq, path):
        last_seq, good_end = seq, end
    if path.stat().st_size != good_end:
        log.warning("intake log: cut a torn record off %s", path)
        with path.open("r+b") as handle:
            handle.truncate(good_end)
            os.fsync(handle.fileno())
    return last_seq


def read_segment(first_seq: int, path: Path) -> Iterator[tuple[int, bytes, int]]:
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
