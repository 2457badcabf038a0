"""The intake log on real files: group commit, torn tails, damage, replay, rotation, erasure."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clycyo.model import Event
from clycyo.store.intake import IntakeInUse, IntakeLog, IntakeUnavailable
from clycyo.store.segments import DAMAGED, HEADER, frame
from tests.tmpfs import tmpfs


def event(n: int, visitor: str = "v") -> Event:
    return Event(
        site_id=1,
        event_id=f"e{n}",
        time_us=n,
        received_us=n,
        origin="browser",
        type="event",
        name="tick",
        visitor_id=visitor,
    )


def test_group_commit_resolves_every_waiter(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path)

    async def send() -> list[int]:
        futures = [log.append([event(n)], []) for n in range(200)]
        return list(await asyncio.gather(*futures))

    seqs = asyncio.run(send())
    log.close()
    assert len(seqs) == 200
    # Many appends share a record: fewer records than requests.
    assert max(seqs) < 200
    replayed = [e.event_id for _, record in IntakeLog(tmp_path).read(0) for e in record.events]
    assert sorted(replayed) == sorted(f"e{n}" for n in range(200))


def test_a_torn_tail_is_cut_off_on_open(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path)
    log.append_sync([event(1)], [])
    log.append_sync([event(2)], [])
    log.close()
    [segment] = tmp_path.glob("*.log")
    whole = segment.read_bytes()
    segment.write_bytes(whole + whole[:30])  # a record cut short by a crash
    reopened = IntakeLog(tmp_path)
    assert reopened.last_seq == 2
    assert segment.stat().st_size == len(whole)
    assert reopened.append_sync([event(3)], []) == 3
    reopened.close()
    assert [s for s, _ in IntakeLog(tmp_path).read(0)] == [1, 2, 3]


def test_read_after_a_sequence_number_and_rotation(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path, segment_bytes=300)
    for n in range(1, 21):
        log.append_sync([event(n)], [])
    assert len(list(tmp_path.glob("*.log"))) > 3
    assert [s for s, _ in log.read(15)] == [16, 17, 18, 19, 20]
    log.loaded(15)
    remaining = [s for s, _ in log.read(0)]
    assert remaining[-1] == 20 and 16 in remaining
    assert min(remaining) <= 16
    assert len(remaining) < 20  # whole loaded segments were deleted
    log.close()


def test_reading_after_a_sequence_number_steps_over_the_records_before_it(
    tmp_path: Path,
) -> None:
    log = IntakeLog(tmp_path)
    for n in range(1, 4):
        log.append_sync([event(n)], [])
    [segment] = tmp_path.glob("*.log")
    data = bytearray(segment.read_bytes())
    data[HEADER.size + 2] ^= 0xFF  # spoil the first record's payload
    segment.write_bytes(bytes(data))
    # The first record was loaded already: reading after it neither reads nor checks it.
    assert [s for s, _ in log.read(1)] == [2, 3]
    # From the start, the spoiled record is read as damaged and the records after it are kept.
    [(first, damaged), *rest] = list(log.read(0))
    assert (first, damaged) == (1, DAMAGED)
    assert [(s, [e.event_id for e in r.events]) for s, r in rest] == [(2, ["e2"]), (3, ["e3"])]
    log.close()


def records(folder: Path) -> list[tuple[int, list[str]]]:
    log = IntakeLog(folder)
    try:
        return [(s, [e.event_id for e in r.events]) for s, r in log.read(0)]
    finally:
        log.close()


def append_each(log: IntakeLog, count: int) -> list[int]:
    """Records 1 to `count` of one event each (e1, e2, …); where each record starts."""
    starts = []
    for n in range(1, count + 1):
        starts.append(log.backlog_bytes())
        log.append_sync([event(n)], [])
    return starts


def written(folder: Path, count: int = 3) -> tuple[Path, bytearray, list[int]]:
    """A closed log of `count` records: its segment, the segment's bytes, where each starts."""
    log = IntakeLog(folder)
    starts = append_each(log, count)
    log.close()
    [segment] = folder.glob("*.log")
    return segment, bytearray(segment.read_bytes()), starts


def test_a_tail_of_zeros_is_cut_off_on_open(tmp_path: Path) -> None:
    # Some file systems leave the grown part of a file as zeros after a power cut.
    segment, data, _ = written(tmp_path)
    segment.write_bytes(bytes(data) + bytes(4096))
    reopened = IntakeLog(tmp_path)
    assert reopened.last_seq == 3
    assert segment.stat().st_size == len(data)
    assert reopened.append_sync([event(4)], []) == 4
    reopened.close()
    assert records(tmp_path) == [(1, ["e1"]), (2, ["e2"]), (3, ["e3"]), (4, ["e4"])]


def test_a_record_damaged_mid_segment_keeps_the_records_after_it(tmp_path: Path) -> None:
    segment, data, starts = written(tmp_path)
    data[starts[1] + HEADER.size + 3] ^= 0x40  # one bit of the second record's payload
    segment.write_bytes(bytes(data))
    reopened = IntakeLog(tmp_path)  # not a torn tail: nothing is cut off
    assert reopened.last_seq == 3
    assert segment.stat().st_size == len(data)
    assert reopened.append_sync([event(4)], []) == 4
    reopened.close()
    assert records(tmp_path) == [(1, ["e1"]), (2, []), (3, ["e3"]), (4, ["e4"])]
    assert [r is DAMAGED for _, r in IntakeLog(tmp_path).read(1)] == [True, False, False]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(
            lambda data, at: data.__setitem__(slice(at, at + 4), b"\xff\xff\x00\x00"),
            id="length too long",
        ),
        pytest.param(
            lambda data, at: data.__setitem__(slice(at, at + 4), b"\x03\x00\x00\x00"),
            id="length too short",
        ),
        pytest.param(lambda data, at: data.__setitem__(at + 8, 9), id="number"),
        pytest.param(
            lambda data, at: data.__setitem__(slice(at, at + 40), bytes(40)),
            id="header and payload zeroed",
        ),
    ],
)
def test_a_damaged_header_is_stepped_over_to_the_next_intact_record(
    tmp_path: Path, spoil: Any
) -> None:
    segment, data, starts = written(tmp_path)
    spoil(data, starts[1])
    segment.write_bytes(bytes(data))
    found = records(tmp_path)
    assert found[0] == (1, ["e1"]) and found[-1] == (3, ["e3"])
    # Every number is there once, in order; what could not be read is empty.
    assert [s for s, _ in found] == [1, 2, 3]
    # Read after record 1 (stepping over it by its header) the same records follow.
    log = IntakeLog(tmp_path)
    assert [s for s, _ in log.read(1)] == [2, 3]
    log.close()


def test_a_damaged_header_among_loaded_records_does_not_hide_the_rest(tmp_path: Path) -> None:
    segment, data, starts = written(tmp_path, 6)
    data[starts[1] : starts[1] + 4] = b"\x01\x00\x00\x00"  # record 2's length, loaded already
    segment.write_bytes(bytes(data))
    log = IntakeLog(tmp_path)
    assert [(s, [e.event_id for e in r.events]) for s, r in log.read(4)] == [
        (5, ["e5"]),
        (6, ["e6"]),
    ]
    log.close()


def test_a_rewrite_cut_short_leaves_the_segment_whole(tmp_path: Path) -> None:
    segment, data, _ = written(tmp_path)
    partial = segment.with_suffix(".tmp")
    partial.write_bytes(bytes(data[:50]))  # the process died while writing the new copy
    assert records(tmp_path) == [(1, ["e1"]), (2, ["e2"]), (3, ["e3"])]
    assert not partial.exists()


def test_erasure_rewrites_a_damaged_record_as_an_empty_one(tmp_path: Path) -> None:
    segment, data, starts = written(tmp_path)
    data[starts[1] + HEADER.size + 3] ^= 0x40
    segment.write_bytes(bytes(data))
    log = IntakeLog(tmp_path)
    assert log.rewrite(lambda e: e.event_id != "e3") == 1
    log.close()
    assert bytes(data[starts[1] : starts[2]]) not in segment.read_bytes()
    assert records(tmp_path) == [(1, ["e1"]), (2, []), (3, [])]


def test_rewrite_removes_events_for_erasure(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path)
    log.append_sync([event(1, "alice"), event(2, "bob")], [])
    assert log.rewrite(lambda e: e.visitor_id != "alice") == 1
    log.close()
    assert b"alice" not in b"".join(p.read_bytes() for p in tmp_path.glob("*.log"))
    [(_, record)] = list(IntakeLog(tmp_path).read(0))
    assert [e.visitor_id for e in record.events] == ["bob"]


def test_a_failing_disk_refuses_instead_of_acknowledging(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path)

    async def attempt() -> int:
        return await log.append([event(1)], [])

    log.fault_injection = "No space left on device"
    with pytest.raises(IntakeUnavailable):
        asyncio.run(attempt())
    with pytest.raises(IntakeUnavailable):
        asyncio.run(attempt())  # refused at once while the fault lasts
    log.fault_injection = None
    assert log.clear_fault()
    assert asyncio.run(attempt()) == 1
    log.close()


def test_backlog_bound_refuses_when_the_store_lags(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path, max_backlog_bytes=500)
    for n in range(20):
        log.append_sync([event(n)], [])

    async def attempt() -> int:
        return await log.append([event(99)], [])

    with pytest.raises(IntakeUnavailable, match="behind"):
        asyncio.run(attempt())
    log.loaded(log.last_seq)
    assert asyncio.run(attempt()) == 21
    log.close()


def test_a_collectors_log_is_polled_from_the_first_record_not_loaded(tmp_path: Path) -> None:
    from clycyo.store.intake_reader import IntakeReader

    log = IntakeLog(tmp_path)
    for n in range(1, 6):
        log.append_sync([event(n), event(n + 100)], [])
    [segment] = tmp_path.glob("*.log")
    data = bytearray(segment.read_bytes())
    data[HEADER.size + 2] ^= 0xFF  # spoil the first record, loaded already
    segment.write_bytes(bytes(data))
    reader = IntakeReader(tmp_path, "w0")
    polled, position = reader.poll(after_seq=3, max_events=2)
    assert [seq for seq, _ in polled] == [4]  # a load's worth: two events
    assert [e.event_id for e in polled[0][1].events] == ["e4", "e104"]
    reader.advance(position)
    polled, _ = reader.poll(after_seq=4)
    assert [seq for seq, _ in polled] == [5]
    log.close()


def test_a_collectors_log_is_read_past_a_damaged_record(tmp_path: Path) -> None:
    from clycyo.store.intake_reader import IntakeReader

    log = IntakeLog(tmp_path)
    starts = append_each(log, 4)
    [segment] = tmp_path.glob("*.log")
    data = bytearray(segment.read_bytes())
    data[starts[2] : starts[2] + 4] = b"\xff\xff\xff\x00"  # record 3's length
    segment.write_bytes(bytes(data))
    reader = IntakeReader(tmp_path, "w0")
    polled, position = reader.poll(after_seq=0, max_events=2)
    assert [seq for seq, _ in polled] == [1, 2]
    reader.advance(position)
    # Reading on from the middle of the segment, the reader knows which number comes next.
    polled, position = reader.poll(after_seq=2)
    assert [(seq, record is DAMAGED) for seq, record in polled] == [(3, True), (4, False)]
    reader.advance(position)
    log.append_sync([event(5)], [])  # the collector writes on after the damage
    polled, _ = reader.poll(after_seq=4)
    assert [(seq, [e.event_id for e in r.events]) for seq, r in polled] == [(5, ["e5"])]
    log.close()


def test_numbers_the_store_has_loaded_are_never_given_again(tmp_path: Path) -> None:
    written(tmp_path)
    log = IntakeLog(tmp_path)
    log.resume(2)  # the log holds more than the store: nothing changes
    assert log.append_sync([event(4)], []) == 4
    log.close()
    # The store loaded up to 6, but the log now ends at 4 (its last records lost after that).
    log = IntakeLog(tmp_path)
    log.resume(6)
    assert log.append_sync([event(7)], []) == 7
    log.close()
    assert sorted(int(p.stem) for p in tmp_path.glob("*.log")) == [1, 7]
    assert [(s, [e.event_id for e in r.events]) for s, r in IntakeLog(tmp_path).read(6)] == [
        (7, ["e7"])
    ]


def test_a_log_has_one_writer_at_a_time(tmp_path: Path) -> None:
    """Two writers on one folder would number records over each other's: the second waits for
    the first to close, and gives up with a clear error if it does not."""
    first = IntakeLog(tmp_path)
    with pytest.raises(IntakeInUse, match="written by another process"):
        IntakeLog(tmp_path, lock_wait_s=0.2)
    first.append_sync([event(1)], [])
    first.close()
    second = IntakeLog(tmp_path, lock_wait_s=0.2)
    assert second.append_sync([event(2)], []) == 2
    second.close()


def test_a_writer_killed_leaves_its_log_free_for_the_next(tmp_path: Path) -> None:
    """The lock goes with the process, however it ends: a collector killed is started again."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from clycyo.store.intake import"
            " IntakeLog; IntakeLog(Path(sys.argv[1])); print('open', flush=True);"
            " time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
        with pytest.raises(IntakeInUse):
            IntakeLog(tmp_path, lock_wait_s=0.2)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    log = IntakeLog(tmp_path, lock_wait_s=0.2)
    assert log.append_sync([event(1)], []) == 1
    log.close()


def test_a_collectors_record_larger_than_a_read_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clycyo.store import intake_reader

    log = IntakeLog(tmp_path)
    log.append_sync([event(1)], [])
    log.append_sync([event(n) for n in range(2, 40)], [])  # about 1.5 KB
    log.append_sync([event(40)], [])
    log.close()
    monkeypatch.setattr(intake_reader, "_MAX_READ_BYTES", 200)
    reader = intake_reader.IntakeReader(tmp_path, "w0")
    seen = []
    for _ in range(4):
        polled, position = reader.poll(after_seq=seen[-1] if seen else 0)
        seen += [seq for seq, _ in polled]
        reader.advance(position)
    assert seen == [1, 2, 3]


def test_a_write_cut_short_and_not_cut_off_costs_nothing(tmp_path: Path) -> None:
    """A short write (disk full) whose cut failed too, then the retry of the same record."""
    log = IntakeLog(tmp_path)
    append_each(log, 2)
    payload = b"\x92\x91" + b"x" * 200  # what was to be record 3, written in part
    torn = frame(3, payload)
    os.write(log._fd, torn[:60])
    assert log.append_sync([event(3)], []) == 3  # the retry, after the torn part
    log.close()
    # Record 3 is the retry's, whole; the torn part before it is neither a record nor damage.
    assert records(tmp_path) == [(1, ["e1"]), (2, ["e2"]), (3, ["e3"])]


def test_a_backlog_left_from_before_counts_until_the_store_has_it(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path, segment_bytes=200)
    append_each(log, 12)
    log.close()
    sizes = {int(p.stem): p.stat().st_size for p in tmp_path.glob("*.log")}
    assert len(sizes) > 3
    # Every segment holding a record after 4 counts, whole: from the one that holds record 5.
    holding_5 = max(first for first in sizes if first <= 5)
    behind = sum(size for first, size in sizes.items() if first >= holding_5)
    assert behind < sum(sizes.values())
    reopened = IntakeLog(tmp_path, max_backlog_bytes=behind - 1)
    reopened.resume(4)
    assert reopened.unloaded_bytes == behind

    async def attempt() -> int:
        return await reopened.append([event(99)], [])

    with pytest.raises(IntakeUnavailable, match="behind"):
        asyncio.run(attempt())  # beyond the bound: the store has not caught up
    reopened.loaded(12)
    assert reopened.unloaded_bytes == 0
    assert asyncio.run(attempt()) == 13
    reopened.close()


@pytest.fixture
def few_inodes(tmp_path: Path) -> Iterator[Path]:
    """A small filesystem that can hold 32 files."""
    with tmpfs(tmp_path / "disk", "size=8m,nr_inodes=32") as mount_point:
        yield mount_point


def test_a_segment_that_cannot_be_made_refuses_and_writes_nowhere_else(
    few_inodes: Path, tmp_path: Path
) -> None:
    log = IntakeLog(few_inodes / "log", segment_bytes=200)
    append_each(log, 2)  # the next record goes to a new segment
    fillers = []
    with contextlib.suppress(OSError):  # until no file can be made
        while True:
            fillers.append(few_inodes / f"filler-{len(fillers)}")
            fillers[-1].touch()
    loop = asyncio.new_event_loop()

    async def append(n: int) -> int:
        return await log.append([event(n)], [])

    with pytest.raises(IntakeUnavailable, match="No space left"):
        loop.run_until_complete(append(3))
    fillers[0].unlink(missing_ok=True)
    # Whatever the process opens next must not receive the log's records, nor lose its file.
    bystander = tmp_path / "bystander"
    with bystander.open("wb") as handle:
        assert log.clear_fault()
        assert loop.run_until_complete(append(3)) == 3
        handle.write(b"mine")
    loop.close()
    assert bystander.read_bytes() == b"mine"
    log.close()
    assert records(few_inodes / "log") == [(1, ["e1"]), (2, ["e2"]), (3, ["e3"])]


def test_an_erasure_that_cannot_finish_leaves_the_log_working(
    few_inodes: Path, tmp_path: Path
) -> None:
    log = IntakeLog(few_inodes / "log")
    log.append_sync([event(1, "alice"), event(2, "bob")], [])
    with contextlib.suppress(OSError):  # until no file can be made: the rewrite's copy neither
        for n in range(100):
            (few_inodes / f"filler-{n}").touch()
    with pytest.raises(OSError, match="No space left"):
        log.rewrite(lambda e: e.visitor_id != "alice")
    assert not list(few_inodes.glob("log/*.tmp"))
    bystander = tmp_path / "bystander"
    with bystander.open("wb") as handle:
        assert log.append_sync([event(3)], []) == 2
        handle.write(b"mine")
    assert bystander.read_bytes() == b"mine"
    log.close()
    assert records(few_inodes / "log") == [(1, ["e1", "e2"]), (2, ["e3"])]
