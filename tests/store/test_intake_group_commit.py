"""A group commit of the intake log answers each request for its own records: one whose events
cannot be encoded fails alone, the others of its group are written, acknowledged and stored."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import msgspec
import pytest

from clycyo.model import Rejection
from clycyo.store.duckdb.store import DuckDBStore
from clycyo.store.intake import IntakeLog, IntakeUnavailable
from clycyo.store.quarantine import Quarantine
from clycyo.store.segments import Record
from clycyo.store.writer import Writer
from tests.store.conftest import tick


def test_a_request_whose_events_cannot_be_encoded_fails_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb")
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"))
    # The flusher hands each durable record to the writer; holding the first hand-off keeps it
    # busy with the first group while the next three requests queue up for one group together.
    load = log.handoff
    assert load is not None
    entered, release = threading.Event(), threading.Event()

    def gate(seq: int, record: Record) -> None:
        if not entered.is_set():
            entered.set()
            release.wait(10)
        load(seq, record)

    log.handoff = gate
    # A string no encoder can write as UTF-8: half of a surrogate pair, as a bug might let by.
    bad = msgspec.structs.replace(tick("bad"), visitor_id="\ud83d")
    rejected = Rejection(
        site_id=1, received_us=1, trusted=True, error="name: required", payload="{}"
    )

    async def send() -> list[int | BaseException]:
        first = log.append([tick("a")], [])
        await asyncio.to_thread(entered.wait, 10)
        group = [
            log.append([tick("b1"), tick("b2")], []),
            log.append([tick("c1"), bad], []),
            log.append([tick("d")], [rejected]),
        ]
        release.set()
        return await asyncio.gather(first, *group, return_exceptions=True)

    a, b, c, d = asyncio.run(send())
    assert isinstance(c, IntakeUnavailable)
    assert isinstance(a, int) and isinstance(b, int) and b == d == a + 1  # one group, one record
    assert writer.wait_loaded(log.last_seq, 10)
    assert store.execute("SELECT event_id FROM events ORDER BY event_id") == [
        ("a",),
        ("b1",),
        ("b2",),
        ("d",),
    ]
    assert [e.error for e in Quarantine(tmp_path / "q.sqlite").entries(limit=10)] == [
        "name: required"
    ]
    failed = [r for r in caplog.records if "cannot be encoded" in r.getMessage()]
    assert len(failed) == 1 and "UnicodeEncodeError" in failed[0].getMessage()
    assert log.fault is None  # the log itself is fine: later requests are taken

    async def later() -> int:
        return await log.append([tick("e")], [])

    assert asyncio.run(later()) == b + 1
    log.close()
    writer.stop()
    store.close()
