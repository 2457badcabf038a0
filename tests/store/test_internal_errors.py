"""A bug in the writer's own work that one event sets off (here in the deriver, the writer's
hook for derived tables) costs that event, not the store: it goes to the quarantine with the
error and the rest is stored (`store/refusals.py`, `Writer._prepare`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from clycyo.identity.deriver import IdentityDeriver
from clycyo.model import Event
from clycyo.store.base import EventStore
from clycyo.store.derive import Derived
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.writer import Writer
from tests.store.conftest import StoreFactory, counted_events, tick


class TrippingDeriver:
    """The identity deriver, with a bug where an event named "trip" is about: `trips` times at
    most (None: every time), a load holding one raises `error` from the deriver's own code."""

    def __init__(
        self, store: EventStore, error: type[Exception] = KeyError, trips: int | None = None
    ) -> None:
        self.inner = IdentityDeriver(store)
        self.error = error
        self.trips = trips
        self.on = True

    def derive(self, events: list[Event], links: Sequence[Event] = ()) -> Derived:
        for event in events:
            if event.name == "trip" and self.on and self.trips != 0:
                if self.trips is not None:
                    self.trips -= 1
                raise self.error(f"no visit state for {event.event_id}")
        return self.inner.derive(events, links)

    def commit(self) -> None:
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()


def trip(event_id: str) -> Event:
    return msgspec.structs.replace(tick(event_id), name="trip")


def quarantined(folder: Path) -> list[tuple[str, dict[str, object]]]:
    entries = Quarantine(folder / "q.sqlite").entries(limit=100)
    return [(e.error, json.loads(e.payload)) for e in entries]


def test_an_event_the_writer_fails_on_is_quarantined_and_the_rest_stored(
    tmp_path: Path, open_store: StoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    deriver = TrippingDeriver(store)
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=deriver)
    good = [tick(f"g{n}") for n in range(40)]
    log.append_sync(good[:10], [])
    log.append_sync([*good[10:25], trip("bad"), *good[25:]], [])
    assert writer.wait_loaded(log.last_seq, 30)
    assert writer.wait_loaded(log.append_sync([tick("later")], []), 10)
    stored = [row[0] for row in counted_events(store)]
    assert stored == sorted([e.event_id for e in good] + ["later"])
    assert store.execute("SELECT count(*) FROM actions") == [(41,)]  # the derived rows too
    [(error, payload)] = quarantined(tmp_path)
    assert error == "internal error: KeyError: 'no visit state for bad'"
    assert (payload["event_id"], payload["name"]) == ("bad", "trip")
    stats = writer.stats
    assert (stats.internal_errors, stats.quarantined, stats.refused) == (1, 1, 0)
    assert stats.stored == 41
    assert stats.failures == 1  # the first failure is retried as it was, the second narrowed
    assert stats.last_error is None
    narrowed = [r for r in caplog.records if "writer's own work failed" in r.getMessage()]
    assert len(narrowed) == 1
    assert narrowed[0].levelno == logging.ERROR and narrowed[0].exc_info is not None
    assert "1 event(s) of intake log local (KeyError)" in narrowed[0].getMessage()
    log.close()
    writer.stop()
    store.close()
    # A restart replays nothing of it: the log is loaded past it, the entry is there once.
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=TrippingDeriver(store))
    assert writer.wait_loaded(log.append_sync([tick("after-restart")], []), 10)
    assert len(counted_events(store)) == 42
    assert len(quarantined(tmp_path)) == 1
    log.close()
    writer.stop()
    store.close()


def test_a_failure_that_does_not_come_again_quarantines_nothing(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(
        store, log, Quarantine(tmp_path / "q.sqlite"), deriver=TrippingDeriver(store, trips=1)
    )
    seq = log.append_sync([tick("a"), trip("passing"), tick("b")], [])
    assert writer.wait_loaded(seq, 15)
    assert [row[0] for row in counted_events(store)] == ["a", "b", "passing"]
    assert quarantined(tmp_path) == []
    assert (writer.stats.failures, writer.stats.internal_errors) == (1, 0)
    log.close()
    writer.stop()
    store.close()


@pytest.mark.parametrize(
    ("error", "sent"),
    [
        (KeyError, ["trip-1", "trip-2"]),  # every event of the load fails: no event's bug
        (OSError, ["a", "trip-1", "b"]),  # I/O says nothing about the events
    ],
)
def test_a_failure_that_is_no_events_holds_the_load_whole(
    tmp_path: Path, error: type[Exception], sent: list[str]
) -> None:
    from clycyo.store.duckdb.store import DuckDBStore

    store = DuckDBStore(tmp_path / "events.duckdb")
    log = IntakeLog(tmp_path / "intake")
    deriver = TrippingDeriver(store, error)
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=deriver)
    events = [trip(name) if name.startswith("trip") else tick(name) for name in sent]
    seq = log.append_sync(events, [])
    assert not writer.wait_loaded(seq, 1.0)
    assert writer.stats.failures >= 3  # retried, and nothing quarantined each time
    assert quarantined(tmp_path) == []
    deriver.on = False  # the release that fixes it
    assert writer.wait_loaded(seq, 15)
    assert [row[0] for row in counted_events(store)] == sorted(sent)
    assert (writer.stats.internal_errors, writer.stats.quarantined) == (0, 0)
    log.close()
    writer.stop()
    store.close()


def test_a_collectors_load_is_narrowed_while_the_local_log_keeps_loading(tmp_path: Path) -> None:
    """The loads of other logs come between the tries of a collector's failing load: they do
    not make its second failure look like a first."""
    from clycyo.store.duckdb.store import DuckDBStore
    from clycyo.store.intake_reader import IntakeReader

    store = DuckDBStore(tmp_path / "events.duckdb")
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=TrippingDeriver(store))
    collector = IntakeLog(tmp_path / "intake" / "w1")
    writer.add_reader(IntakeReader(tmp_path / "intake" / "w1", "w1"))
    collector.append_sync([tick("c1"), trip("c-bad"), tick("c2")], [])
    deadline = time.monotonic() + 15
    local = 0
    while len(quarantined(tmp_path)) == 0:
        assert time.monotonic() < deadline, "the collector's load was never narrowed"
        assert writer.wait_loaded(log.append_sync([tick(f"local-{local}")], []), 10)
        local += 1
        time.sleep(0.02)
    assert writer.catch_up(10)
    stored = {row[0] for row in counted_events(store)}
    assert {"c1", "c2"} <= stored and "c-bad" not in stored
    [(error, payload)] = quarantined(tmp_path)
    assert error.startswith("internal error: KeyError: ") and payload["event_id"] == "c-bad"
    collector.close()
    log.close()
    writer.stop()
    store.close()


class MeetingDeriver(TrippingDeriver):
    """The identity deriver, with a bug that only two events together set off: a load (or a
    part of one) that holds both "meet-a" and "meet-b" raises; each alone passes."""

    def derive(self, events: list[Event], links: Sequence[Event] = ()) -> Derived:
        ids = {event.event_id for event in events}
        if self.on and {"meet-a", "meet-b"} <= ids:
            raise KeyError("no visit state for the pair")
        return self.inner.derive(events, links)


def test_a_bug_two_events_set_off_together_stores_the_load_in_parts(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """Narrowing finds no event that fails alone: the load is stored in parts that each pass,
    every event of it once, none quarantined, rather than retried whole for ever."""
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=MeetingDeriver(store))
    first = [tick(f"g{n:02}") for n in range(6)]
    # One record: the pair meets in it, and its halves part them.
    sent = [*first[:2], tick("meet-a"), *first[2:4], tick("meet-b"), *first[4:]]
    log.append_sync([tick("before")], [])
    seq = log.append_sync(sent, [])
    assert writer.wait_loaded(seq, 20)
    assert writer.wait_loaded(log.append_sync([tick("later")], []), 10)
    stored = [row[0] for row in counted_events(store)]
    assert stored == sorted([e.event_id for e in sent] + ["before", "later"])
    assert store.execute("SELECT count(*) FROM actions") == [(len(sent) + 2,)]
    assert quarantined(tmp_path) == []
    assert (writer.stats.internal_errors, writer.stats.quarantined) == (0, 0)
    assert store.loaded_seq() == log.last_seq
    log.close()
    writer.stop()
    store.close()
    # A restart stores nothing twice.
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=MeetingDeriver(store))
    assert writer.wait_loaded(log.append_sync([tick("after-restart")], []), 10)
    assert len(counted_events(store)) == len(sent) + 3
    log.close()
    writer.stop()
    store.close()


def test_events_the_writer_failed_on_are_stored_when_replayed_by_the_same_server(
    tmp_path: Path,
) -> None:
    """The pipeline accepted them, so it remembers their ids and orders: a replay, once the bug
    no longer sets off (here: without a restart), stores them, rather than answering a duplicate
    of itself and marking the entry replayed with nothing stored. A browser event among them
    (sent by a backend two days back, so kept as sent with the public key) is replayed as it was
    accepted, not refused for its age or dropped for the user agent a replay has not."""
    import asyncio

    from clycyo.collect.replay import replay_entry
    from tests.small_world import CHROME, SmallWorld

    world = SmallWorld(tmp_path)
    runtime = world.runtime
    deriver = TrippingDeriver(runtime.store)
    deriver.inner = runtime.deriver
    runtime.writer.deriver = deriver
    try:
        world.send(
            world.server(1, "ok"),
            world.payment(2, "49.00", "o-1", name="trip", props={"plan": "pro"}),
            world.server(3, "ok too"),
            {
                "name": "trip",
                "origin": "browser",
                "visitor_id": "v-1",
                "url": "https://shop.test/pricing",
                "timestamp": world.at(4),
                "context": {"user_agent": CHROME},
            },
            wait=False,
        )
        assert runtime.writer.wait_loaded(runtime.intake.last_seq, 30)
        entries = runtime.quarantine.entries()
        assert [e.error.startswith("internal error: KeyError: ") for e in entries] == [True] * 2
        assert sorted(e.trusted for e in entries) == [False, True]
        deriver.on = False  # the bug no longer sets off
        for entry in entries:
            answer = asyncio.run(replay_entry(runtime, entry.id))
            assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (1, 0, [])
        assert runtime.writer.wait_loaded(runtime.intake.last_seq, 10)
        stored = runtime.store.execute(
            "SELECT name, origin, order_id, props['plan'], url FROM events ORDER BY name, origin"
        )
        assert stored == [
            ("ok", "server", None, None, None),
            ("ok too", "server", None, None, None),
            ("trip", "browser", None, None, "https://shop.test/pricing"),
            ("trip", "server", "o-1", "pro", None),
        ]
        # Replayed again, each is a duplicate: the store holds it now.
        for entry in entries:
            again = asyncio.run(replay_entry(runtime, entry.id))
            assert (again["accepted"], again["duplicates"]) == (0, 1), again
        assert runtime.writer.wait_loaded(runtime.intake.last_seq, 10)
        assert len(runtime.store.execute("SELECT 1 FROM events WHERE name = 'trip'")) == 2
    finally:
        world.close()
