"""The intake log on real files: group commit, torn tails, replay, rotation, erasure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from clycyo.model import Event
from clycyo.store.intake import HEADER, IntakeLog, IntakeUnavailable


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
    # From the start, reading stops at the spoiled record, as at a torn tail.
    assert list(log.read(0)) == []
    log.close()


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
