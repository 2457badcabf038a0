"""The writer over a real intake log and a real store (DuckDB, chDB): exactly once, orders,
faults."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from clycyo import order_copies
from clycyo.model import Event
from clycyo.store.columns import fingerprint
from clycyo.store.duckdb.store import DuckDBStore
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.segments import HEADER
from clycyo.store.writer import Writer
from tests.store.conftest import StoreFactory, counted_events, tick


def money(event_id: str, origin: str, amount: str, order: str = "o1") -> Event:
    return Event(
        site_id=1,
        event_id=event_id,
        time_us=1,
        received_us=1,
        origin=origin,
        type="event",
        name="payment",
        order_id=order,
        revenue_amount=amount,
        revenue_currency="EUR",
    )


class Parts:
    def __init__(self, folder: Path, open_store: StoreFactory) -> None:
        self.store = open_store(folder)
        self.log = IntakeLog(folder / "intake")
        self.writer = Writer(self.store, self.log, Quarantine(folder / "q.sqlite"))

    def put(self, *events: Event) -> None:
        seq = self.log.append_sync(list(events), [])
        assert self.writer.wait_loaded(seq, 10)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return self.store.execute(sql)

    def close(self) -> None:
        self.log.close()
        self.writer.stop()
        self.store.close()


def test_the_same_event_id_is_stored_once_however_far_apart(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    parts = Parts(tmp_path, open_store)
    parts.put(tick("a"), tick("b"), tick("a"))
    parts.put(tick("b"))
    parts.close()
    # A new process: nothing of the first one's memory remains but the store.
    again = Parts(tmp_path, open_store)
    again.put(tick("a"), tick("c"))
    assert again.rows("SELECT event_id, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        ("a", 1),
        ("b", 1),
        ("c", 1),
    ]
    assert again.writer.stats.duplicates == 1
    again.close()


def test_a_remembered_fingerprint_of_another_id_does_not_drop_the_event(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """A 64-bit digest collision: the writer's memory holds the fingerprint of an id the store
    does not hold (as a colliding id's would be). The store decides, and the event is kept."""
    parts = Parts(tmp_path, open_store)
    parts.put(tick("a"))
    parts.writer.dedupe.remember([fingerprint(1, "b")])
    parts.put(tick("b"), tick("a"))
    parts.put(tick("b"))
    assert parts.rows("SELECT event_id, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        ("a", 1),
        ("b", 1),
    ]
    assert parts.writer.stats.duplicates == 2
    parts.close()


def test_the_servers_order_replaces_the_browsers_copy(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    parts = Parts(tmp_path, open_store)
    parts.put(money("b1", "browser", "10"))
    parts.put(money("b2", "browser", "11"))  # the browser again: a duplicate
    parts.put(money("s1", "server", "12.5"))  # supersedes
    parts.put(money("s2", "server", "13"), money("b3", "browser", "9"))  # both too late
    rows = counted_events(parts.store, "event_id, origin, revenue_amount")
    assert [(i, o, float(a)) for i, o, a in rows] == [("s1", "server", 12.5)]
    parts.close()


def test_within_one_batch_the_server_copy_wins(tmp_path: Path, open_store: StoreFactory) -> None:
    parts = Parts(tmp_path, open_store)
    parts.put(money("b1", "browser", "10", "o2"), money("s1", "server", "12", "o2"))
    assert parts.rows("SELECT event_id FROM events") == [("s1",)]
    parts.close()


def test_replay_after_a_crash_loads_each_record_once(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    # Records written while no writer ran (as after a kill -9 between fsync and load).
    log = IntakeLog(tmp_path / "intake")
    for n in range(5):
        log.append_sync([tick(f"r{n}")], [])
    log.close()
    parts = Parts(tmp_path, open_store)
    assert parts.writer.wait_loaded(5, 10)
    parts.close()
    parts = Parts(tmp_path, open_store)  # and once more: nothing is loaded twice
    assert parts.rows("SELECT count(*) FROM events") == [(5,)]
    parts.close()


def test_a_backlog_larger_than_a_load_is_replayed_a_load_at_a_time(tmp_path: Path) -> None:
    log = IntakeLog(tmp_path / "intake")
    for n in range(500):
        log.append_sync([tick(f"b{n}")], [])
    log.close()
    store = DuckDBStore(tmp_path / "events.duckdb")
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), max_batch_events=50)
    assert writer.wait_loaded(500, 30)
    writer.stop()
    log.close()
    # Loads of at most 50 events each, every record once.
    assert writer.stats.batches >= 10
    assert store.execute("SELECT count(*), count(DISTINCT event_id) FROM events") == [(500, 500)]
    store.close()


def test_a_failing_store_keeps_the_batch_and_recovers(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    parts = Parts(tmp_path, open_store)
    parts.writer.fault_injection = "store unreachable"
    seq = parts.log.append_sync([tick("x")], [])
    assert not parts.writer.wait_loaded(seq, 0.5)
    assert parts.writer.stats.failures >= 1
    parts.writer.fault_injection = None
    assert parts.writer.wait_loaded(seq, 15)
    assert parts.rows("SELECT event_id FROM events") == [("x",)]
    parts.close()


def test_an_idle_writer_folds_duckdbs_log_into_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clycyo.store import writer as writer_module
    from clycyo.store.duckdb.store import WAL_CHECKPOINT, DuckDBStore

    monkeypatch.setattr(writer_module, "_SETTLE_AFTER_S", 0.3)
    parts = Parts(tmp_path, lambda folder: DuckDBStore(folder / "events.duckdb"))
    # Under load the log grows to the threshold before DuckDB folds it in on its own.
    assert parts.rows("SELECT current_setting('checkpoint_threshold')") == [
        (WAL_CHECKPOINT.replace("MiB", ".0 MiB"),)
    ]
    wal = tmp_path / "events.duckdb.wal"
    parts.put(*(tick(f"e{i}") for i in range(500)))
    assert wal.stat().st_size > 0
    deadline = time.monotonic() + 10
    while wal.exists() and wal.stat().st_size > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not wal.exists() or wal.stat().st_size == 0
    assert parts.rows("SELECT count(*) FROM events") == [(500,)]
    parts.close()


def test_actions_hold_the_stored_copy_of_every_action(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    from clycyo.identity.deriver import open_deriver

    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=open_deriver(store))

    def browser(event_id: str, time_us: int, kind: str, name: str, **fields: Any) -> Event:
        return Event(
            site_id=1,
            event_id=event_id,
            time_us=time_us,
            received_us=time_us,
            origin="browser",
            type=kind,
            name=name,
            visitor_id="v1",
            **fields,
        )

    view = browser("view", 2, "pageview", "pageview", url="https://a.test/", page="/")
    signup = browser("signup", 3, "event", "signup", props={"plan": "pro"})
    vital = browser("vital", 4, "event", "web_vital", props={"metric": "LCP", "value": "1200"})
    assert writer.wait_loaded(
        log.append_sync([view, signup, vital, money("paid", "server", "9")], [])
    )
    columns = "event_id, event_fp, seq, visit_id, name, props, revenue_amount"
    stored = dict((row[0], row) for row in store.execute(f"SELECT {columns} FROM events"))
    actions = store.execute(f"SELECT {columns} FROM actions ORDER BY event_id")
    assert actions == [stored["paid"], stored["signup"]]
    assert stored["signup"][3] == stored["view"][3] is not None  # one visit
    log.close()
    writer.stop()
    store.close()


def test_flushing_collector_logs_passes_over_a_collector_not_started_yet(tmp_path: Path) -> None:
    from clycyo.store.intake_reader import IntakeReader

    parts = Parts(tmp_path, lambda folder: DuckDBStore(folder / "events.duckdb"))
    stopped = IntakeLog(tmp_path / "intake" / "w2")  # a collector that ran and stopped
    stopped.append_sync([tick("from-w2")], [])
    stopped.close()
    parts.writer.add_reader(IntakeReader(tmp_path / "intake" / "w1", "w1"))  # never started
    parts.writer.add_reader(IntakeReader(tmp_path / "intake" / "w2", "w2"))
    job = parts.writer.submit(lambda: parts.writer.flush_collector_logs(timeout_s=0.3))
    job.result(timeout=10)
    assert not (tmp_path / "intake" / "w1").exists()
    assert parts.rows("SELECT event_id FROM events") == [("from-w2",)]
    parts.close()


def test_a_collector_that_died_mid_write_has_its_old_segment_flushed_all_the_same(
    tmp_path: Path,
) -> None:
    """A torn record at the end of a stopped collector's log is cut off, as the collector would
    on starting, so its next segment is started and the loaded one deleted: what an erasure
    removes from the store does not stay on disk in that log until the collector comes back."""
    from clycyo.store.intake_reader import IntakeReader
    from clycyo.store.segments import frame

    parts = Parts(tmp_path, lambda folder: DuckDBStore(folder / "events.duckdb"))
    folder = tmp_path / "intake" / "w1"
    crashed = IntakeLog(folder)
    crashed.append_sync([tick("erased-person")], [])
    crashed.close()
    [segment] = folder.glob("*.log")
    with segment.open("ab") as handle:
        handle.write(frame(2, b"x" * 400)[:150])  # killed while writing its second record
    parts.writer.add_reader(IntakeReader(folder, "w1"))  # this run's collector, not running
    job = parts.writer.submit(lambda: parts.writer.flush_collector_logs(timeout_s=0.3))
    job.result(timeout=10)
    assert parts.rows("SELECT event_id FROM events") == [("erased-person",)]
    [left] = folder.glob("*.log")
    assert (int(left.stem), left.stat().st_size) == (2, 0)
    restarted = IntakeLog(folder)  # the collector, started again, numbers on from there
    assert restarted.append_sync([tick("later")], []) == 2
    restarted.close()
    parts.close()


def test_a_log_no_collector_writes_is_flushed_without_waiting_for_one(tmp_path: Path) -> None:
    from clycyo.store.intake_reader import IntakeReader

    parts = Parts(tmp_path, lambda folder: DuckDBStore(folder / "events.duckdb"))
    left = IntakeLog(tmp_path / "intake" / "w3")  # left by an earlier run with more workers
    left.append_sync([tick("from-w3")], [])
    left.close()
    parts.writer.add_reader(IntakeReader(tmp_path / "intake" / "w3", "w3"), running=False)
    started = time.monotonic()
    job = parts.writer.submit(lambda: parts.writer.flush_collector_logs(timeout_s=5.0))
    job.result(timeout=10)
    assert time.monotonic() - started < 2.0  # no rotation asked for, so none waited for
    assert parts.rows("SELECT event_id FROM events") == [("from-w3",)]
    # What it held is gone from disk: a new, empty segment numbered after it is all that is left.
    [segment] = (tmp_path / "intake" / "w3").glob("*.log")
    assert (int(segment.stem), segment.stat().st_size) == (2, 0)
    parts.close()


def test_a_live_collector_that_does_not_answer_keeps_its_segment(tmp_path: Path) -> None:
    """Its log is not rotated on its behalf: the records it writes after are still loaded."""
    writer, collector, store = _collector_writer(tmp_path)
    # `collector` holds its log open, as a running collector does, but never rotates (no tick).
    collector.append_sync([tick("before")], [])
    job = writer.submit(lambda: writer.flush_collector_logs(timeout_s=0.3))
    with pytest.raises(TimeoutError, match="w1"):
        job.result(timeout=10)
    assert len(list((tmp_path / "intake" / "w1").glob("*.log"))) == 1
    collector.append_sync([tick("after")], [])  # into the segment it has been writing
    _until_stored(writer, 2, 5.0)
    assert sorted(row[0] for row in store.execute("SELECT event_id FROM events")) == [
        "after",
        "before",
    ]
    collector.close()
    writer.stop()
    store.close()


def test_a_collector_starting_while_its_segment_is_started_for_it_waits(tmp_path: Path) -> None:
    """The core starts a segment for a collector that is not running under its log's lock: one
    that starts meanwhile opens the log after that, so it writes to the new segment, not to the
    one the core is about to delete once loaded."""
    import threading

    from clycyo.store.intake_reader import IntakeReader

    folder = tmp_path / "intake" / "w1"
    crashed = IntakeLog(folder)
    crashed.append_sync([tick("before")], [])
    crashed.close()
    reader = IntakeReader(folder, "w1")
    opened: list[IntakeLog] = []
    with reader.writer_stopped() as stopped:
        assert stopped
        starting = threading.Thread(target=lambda: opened.append(IntakeLog(folder)))
        starting.start()
        time.sleep(0.3)
        assert not opened  # it waits for the lock
        reader.rotate_for_stopped_writer(2)
    starting.join(5)
    [restarted] = opened
    assert restarted.append_sync([tick("after")], []) == 2
    with reader.writer_stopped() as stopped:
        assert not stopped  # a running collector holds it
    restarted.close()
    assert sorted(p.name for p in folder.glob("*.log")) == [
        "00000000000000000001.log",
        "00000000000000000002.log",
    ]
    assert (folder / "00000000000000000002.log").stat().st_size > 0


def test_a_writer_with_a_full_load_waiting_does_not_pause(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb")
    log = IntakeLog(tmp_path / "intake")
    # Loads at most every 5 s under sustained load, 10 events a load: six loads' worth waits.
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), max_batch_events=10)
    writer.min_interval_s = 5.0
    for number in range(6):
        log.append_sync([tick(f"e{number}-{i}") for i in range(10)], [])
    deadline = time.monotonic() + 4.0  # not by wait_loaded, which cuts pauses short
    while writer.loaded_seq < log.last_seq and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.loaded_seq == log.last_seq
    assert writer.stats.stored == 60
    log.close()
    writer.stop()
    store.close()


def _collector_writer(tmp_path: Path, **options: Any) -> tuple[Writer, IntakeLog, DuckDBStore]:
    """A writer that loads one collector's log (`w1`), which the returned log writes."""
    from clycyo.store.intake_reader import IntakeReader

    store = DuckDBStore(tmp_path / "events.duckdb")
    writer = Writer(store, IntakeLog(tmp_path / "intake"), Quarantine(tmp_path / "q.sqlite"))
    for name, value in options.items():
        setattr(writer, name, value)
    collector = IntakeLog(tmp_path / "intake" / "w1")
    writer.add_reader(IntakeReader(tmp_path / "intake" / "w1", "w1"))
    return writer, collector, store


def _until_stored(writer: Writer, count: int, timeout_s: float) -> None:
    """Wait without `catch_up`, which would cut the writer's pauses short. The writer counts a
    load once the store has committed it, so its figures are read after the count is reached."""
    deadline = time.monotonic() + timeout_s
    while writer.stats.stored < count:
        assert time.monotonic() < deadline, f"fewer than {count} events stored"
        time.sleep(0.02)
    assert writer.store.execute("SELECT count(*) FROM events")[0][0] == writer.stats.stored


def test_a_collectors_log_is_gathered_between_loads_like_the_local_one(tmp_path: Path) -> None:
    writer, collector, store = _collector_writer(tmp_path, min_interval_s=2.0)
    collector.append_sync([tick("first")], [])
    _until_stored(writer, 1, 2.0)  # an idle writer loads at once
    loads = writer.stats.batches
    for n in range(5):
        collector.append_sync([tick(f"then-{n}")], [])
        time.sleep(0.05)
    _until_stored(writer, 6, 5.0)
    assert writer.stats.batches == loads + 1  # gathered into one load, not one per poll
    collector.close()
    writer.stop()
    store.close()


def test_a_collectors_log_with_a_full_load_waiting_is_loaded_at_once(tmp_path: Path) -> None:
    writer, collector, store = _collector_writer(tmp_path, min_interval_s=30.0, max_batch_events=10)
    collector.append_sync([tick("first")], [])
    _until_stored(writer, 1, 2.0)
    for n in range(3):
        collector.append_sync([tick(f"full-{n}-{i}") for i in range(10)], [])
    # Each full load goes in long before the 30 s interval; the rest waits for it.
    _until_stored(writer, 21, 5.0)
    collector.close()
    writer.stop()
    store.close()


def test_records_damaged_on_disk_are_counted_and_the_rest_loaded(tmp_path: Path) -> None:
    """Zeros over four records of a collector's log, as a bad sector leaves them."""
    from clycyo.store.intake_reader import IntakeReader

    # The log is written and damaged before the writer reads it: a writer already reading could
    # load records 4 to 7 before the zeros reach them.
    store = DuckDBStore(tmp_path / "events.duckdb")
    writer = Writer(store, IntakeLog(tmp_path / "intake"), Quarantine(tmp_path / "q.sqlite"))
    writer.min_interval_s = 0.0
    log = IntakeLog(tmp_path / "intake" / "w1")
    starts = []
    for n in range(10):
        starts.append(log.backlog_bytes())
        log.append_sync([tick(f"z{n}-a"), tick(f"z{n}-b")], [])
    log.close()
    [segment] = (tmp_path / "intake" / "w1").glob("*.log")
    data = bytearray(segment.read_bytes())
    data[starts[3] : starts[7]] = bytes(starts[7] - starts[3])  # records 4 to 7
    segment.write_bytes(bytes(data))
    writer.add_reader(IntakeReader(tmp_path / "intake" / "w1", "w1"))
    _until_stored(writer, 12, 10.0)
    writer.stop()
    stored = sorted(row[0] for row in store.execute("SELECT event_id FROM events"))
    assert stored == sorted(f"z{n}-{x}" for n in (0, 1, 2, 7, 8, 9) for x in "ab")
    assert writer.stats.damaged == 4
    assert writer.reader_loaded["w1"] == 10
    store.close()


def test_a_last_record_lost_after_it_was_loaded_does_not_swallow_the_next(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    parts = Parts(tmp_path, open_store)
    parts.put(tick("one"))
    parts.put(tick("two"))  # record 2: loaded, then damaged on disk and cut off at the next start
    parts.close()
    [segment] = (tmp_path / "intake").glob("*.log")
    data = segment.read_bytes()
    first_end = HEADER.size + HEADER.unpack_from(data)[0]
    segment.write_bytes(data[:first_end] + bytes(data[first_end : first_end + 5]))
    parts = Parts(tmp_path, open_store)
    assert parts.log.last_seq == 2  # numbered on after what the store holds
    parts.put(tick("three"))
    assert parts.rows("SELECT event_id FROM events ORDER BY event_id") == [
        ("one",),
        ("three",),
        ("two",),
    ]
    parts.close()


def test_the_quarantine_and_the_configuration_sync_each_commit(tmp_path: Path) -> None:
    """A rejection's only other copy, in the intake log, goes once the store has loaded it; a key
    is printed to its owner once committed: both must survive a power cut (SQLite: FULL is 2)."""
    from clycyo.config.store import ConfigStore

    for connect in (
        Quarantine(tmp_path / "q.sqlite")._db,
        ConfigStore(tmp_path / "c.sqlite")._connect,
    ):
        assert connect().execute("PRAGMA synchronous").fetchone() == (2,)
        assert connect().execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _quarantined(folder: Path) -> list[tuple[str, str]]:
    return [(e.error, e.payload) for e in Quarantine(folder / "q.sqlite").entries(limit=100)]


def test_an_event_the_store_refuses_is_quarantined_and_the_rest_is_stored(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """A value validation would not let through, written to the log as a bug or an older
    version's looser rules would: DECIMAL(18, 6) holds no 10^12. The load is not retried as it
    was for ever: the refused event goes to the quarantine, the others are stored, and so is
    everything after."""
    from clycyo.collect.wire import decode_event
    from clycyo.identity.deriver import open_deriver

    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=open_deriver(store))
    poisoned = money("poisoned", "browser", "-1000000000000", order="o-poison")
    good = [tick(f"g{n}") for n in range(40)]
    log.append_sync(good[:10], [])
    log.append_sync([*good[10:25], poisoned, *good[25:]], [])
    assert writer.wait_loaded(log.last_seq, 30)
    assert writer.wait_loaded(log.append_sync([tick("later")], []), 10)
    stored = [row[0] for row in counted_events(store)]
    assert stored == sorted([e.event_id for e in good] + ["later"])
    assert store.execute("SELECT count(*) FROM actions") == [(41,)]  # the derived rows too
    [(error, payload)] = _quarantined(tmp_path)
    assert error.startswith("store refused the event: ")
    assert "decimal" in error.lower()  # the engine's own words
    sent = decode_event(payload.encode())  # in the wire format, so it can be replayed
    assert (sent.event_id, sent.order_id, sent.origin) == ("poisoned", "o-poison", "browser")
    assert sent.revenue is not None and sent.revenue.amount == "-1000000000000"
    assert (writer.stats.refused, writer.stats.quarantined, writer.stats.stored) == (1, 1, 41)
    assert writer.stats.last_error is None
    log.close()
    writer.stop()
    store.close()
    # A restart replays nothing of it: the log is loaded past it, and the entry is there once.
    again = Parts(tmp_path, open_store)
    again.put(tick("after-restart"))
    assert again.writer.loaded_seq == again.log.last_seq
    assert len(counted_events(again.store)) == 42
    assert len(_quarantined(tmp_path)) == 1
    again.close()


def test_a_replay_of_a_load_with_a_refused_event_quarantines_it_once(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """The log holds records no writer has loaded (a kill -9 after the answer); two refused
    events among them, in different records, are each quarantined once, however often the
    writer starts on the same log."""
    log = IntakeLog(tmp_path / "intake")
    for n in range(6):
        batch = [tick(f"r{n}-{i}") for i in range(20)]
        if n in (1, 4):
            batch.insert(7, money(f"bad{n}", "server", "1000000000000", order=f"o{n}"))
        log.append_sync(batch, [])
    log.close()
    parts = Parts(tmp_path, open_store)
    assert parts.writer.wait_loaded(6, 30)
    parts.close()
    parts = Parts(tmp_path, open_store)
    assert parts.writer.loaded_seq == 6
    assert len(counted_events(parts.store)) == 120
    errors = sorted(json_payload["event_id"] for json_payload in _payloads(tmp_path))
    assert errors == ["bad1", "bad4"]
    parts.close()


def _payloads(folder: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(payload) for _, payload in _quarantined(folder)]


def test_an_error_that_is_not_a_refusal_keeps_the_load_whole(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """A store that cannot be written (down, a full disk) refuses every part of a load alike:
    nothing is quarantined, the load waits and is stored whole once the store is back."""
    parts = Parts(tmp_path, open_store)
    parts.writer.fault_injection = "disk full"
    seq = parts.log.append_sync([tick("x"), money("m", "server", "5"), tick("y")], [])
    assert not parts.writer.wait_loaded(seq, 0.5)
    parts.writer.fault_injection = None
    assert parts.writer.wait_loaded(seq, 15)
    assert [row[0] for row in counted_events(parts.store)] == ["m", "x", "y"]
    assert _quarantined(tmp_path) == []
    assert parts.writer.stats.refused == 0
    parts.close()


def plain(event_id: str, origin: str, order: str = "o1") -> Event:
    """A copy of an order that carries no money."""
    return msgspec.structs.replace(
        money(event_id, origin, "0", order), revenue_amount=None, revenue_currency=None
    )


def named(copy: Event, *, user_id: str | None = None, visitor_id: str | None = None) -> Event:
    """The copy, naming a person."""
    return msgspec.structs.replace(copy, user_id=user_id, visitor_id=visitor_id)


def _kept(store: Any) -> list[tuple[str, str, float | None]]:
    """(event id, origin, amount) of the copies reads count, in events and in actions."""
    from clycyo.query.builder import superseded

    rows = counted_events(store, "event_id, origin, revenue_amount")
    kept = [(i, o, None if a is None else float(a)) for i, o, a in rows]
    condition = " AND ".join(superseded(store.dialect, "actions", "1"))
    actions = store.execute(f"SELECT event_id FROM actions e WHERE {condition} ORDER BY 1")
    assert [row[0] for row in actions] == [i for i, _, _ in kept]
    return kept


@pytest.mark.parametrize(
    ("copies", "kept"),
    [
        # Sent first without money, the order keeps the copy with money, whoever sent it.
        ([plain("s0", "server"), money("s1", "server", "20")], [("s1", "server", 20.0)]),
        ([plain("b0", "browser"), money("b1", "browser", "20")], [("b1", "browser", 20.0)]),
        ([plain("s0", "server"), money("b1", "browser", "20")], [("b1", "browser", 20.0)]),
        ([plain("b0", "browser"), money("s1", "server", "20")], [("s1", "server", 20.0)]),
        # A copy without money never takes the payment's place, the server's neither.
        ([money("b1", "browser", "20"), plain("s0", "server")], [("b1", "browser", 20.0)]),
        # Then the server's copy with money over the browser's.
        (
            [plain("s0", "server"), money("b1", "browser", "20"), money("s1", "server", "19")],
            [("s1", "server", 19.0)],
        ),
        # Alike in money, the server's copy over the browser's, as before.
        ([plain("b0", "browser"), plain("s0", "server")], [("s0", "server", None)]),
        # Alike in money and origin, a copy that names a person over one that names nobody
        # (Stripe's invoice, then the Checkout Session that says who paid).
        (
            [money("s0", "server", "15"), named(money("s1", "server", "15"), user_id="u_y")],
            [("s1", "server", 15.0)],
        ),
        (
            [money("b0", "browser", "15"), named(money("b1", "browser", "15"), visitor_id="v")],
            [("b1", "browser", 15.0)],
        ),
        (
            [plain("s0", "server"), named(plain("s1", "server"), visitor_id="v")],
            [("s1", "server", None)],
        ),
        # A copy that names nobody never takes a person's copy's place.
        (
            [named(money("s1", "server", "15"), user_id="u_y"), money("s0", "server", "15")],
            [("s1", "server", 15.0)],
        ),
        # Money and origin weigh more than the person.
        (
            [named(money("b1", "browser", "15"), user_id="u_y"), money("s0", "server", "15")],
            [("s0", "server", 15.0)],
        ),
        (
            [money("s0", "server", "15"), named(plain("s1", "server"), user_id="u_y")],
            [("s0", "server", 15.0)],
        ),
        (
            [money("s0", "server", "15"), named(money("b1", "browser", "15"), user_id="u_y")],
            [("s0", "server", 15.0)],
        ),
    ],
)
@pytest.mark.parametrize("together", [True, False], ids=["one-load", "one-load-each"])
def test_a_copy_with_money_outranks_a_copy_without(
    tmp_path: Path,
    open_store: StoreFactory,
    copies: list[Event],
    kept: list[tuple[str, str, float | None]],
    together: bool,
) -> None:
    from clycyo.identity.deriver import open_deriver

    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=open_deriver(store))
    for batch in [copies] if together else [[c] for c in copies]:
        assert writer.wait_loaded(log.append_sync(batch, []), 10)
    assert _kept(store) == kept
    assert store.orders([(1, "payment", "o1")]) == {
        (1, "payment", "o1"): order_copies.rank_of(
            next(c for c in copies if c.event_id == kept[0][0])
        )
    }
    log.close()
    writer.stop()
    store.close()


def with_props(copy: Event, **props: str) -> Event:
    return msgspec.structs.replace(copy, props=props)


INVOICE = with_props(
    money("s0", "server", "15"),
    stripe_event="invoice.paid",
    invoice="in_1",
    billing_reason="subscription_create",
)
SESSION = named(
    with_props(
        money("s1", "server", "15"),
        stripe_event="checkout.session.completed",
        invoice="in_1",
        checkout_session="cs_1",
    ),
    user_id="u_y",
)


@pytest.mark.parametrize(
    ("copies", "props"),
    [
        # Stripe's invoice naming nobody, then the Checkout Session's copy that names the buyer.
        (
            [INVOICE, SESSION],
            {
                "stripe_event": "checkout.session.completed",
                "invoice": "in_1",
                "checkout_session": "cs_1",
                "billing_reason": "subscription_create",
            },
        ),
        # Each copy that takes the place of another keeps what it lacks, a higher copy's value
        # over a lower's.
        (
            [
                with_props(plain("b0", "browser"), coupon="A", page="/cart"),
                with_props(money("b1", "browser", "15"), coupon="B", plan="pro"),
                with_props(money("s1", "server", "15"), plan="team"),
            ],
            {"plan": "team", "coupon": "B", "page": "/cart"},
        ),
        # A copy without props takes those of the copy it replaces.
        ([INVOICE, named(money("s1", "server", "15"), user_id="u_y")], dict(INVOICE.props or {})),
    ],
)
@pytest.mark.parametrize("loads", ["one-load", "one-load-with-a-repeat", "one-load-each"])
def test_a_copy_taking_anothers_place_keeps_the_props_it_lacks(
    tmp_path: Path,
    open_store: StoreFactory,
    copies: list[Event],
    props: dict[str, str],
    loads: str,
) -> None:
    parts = Parts(tmp_path, open_store)
    if loads == "one-load-each":
        for copy in copies:
            parts.put(copy)
    else:
        # A batch that repeats an event id is sorted out event by event, the others by order.
        parts.put(*copies, *([tick("t"), tick("t")] if loads == "one-load-with-a-repeat" else []))
    found = [row for row in counted_events(parts.store, "event_id, props") if row[0] != "t"]
    assert found == [(copies[-1].event_id, props)]
    parts.close()


def _stored_props(store: Any) -> list[tuple[str, dict[str, str]]]:
    """(event id, props) of the copies reads count, the same in events and in actions."""
    from clycyo.query.builder import superseded

    rows = [row for row in counted_events(store, "event_id, props") if row[0] != "t"]
    condition = " AND ".join(["e.name <> 't'", *superseded(store.dialect, "actions", "1")])
    actions = store.execute(f"SELECT event_id, props FROM actions e WHERE {condition} ORDER BY 1")
    assert [tuple(row) for row in actions] == rows
    return rows


SESSION_FIRST = {**(SESSION.props or {}), "billing_reason": "subscription_create"}


@pytest.mark.parametrize(
    ("copies", "kept"),
    [
        # The invoice names nobody: the Checkout Session's copy outranks it, and is kept with
        # the invoice's `billing_reason` whichever came first.
        ([INVOICE, SESSION], (SESSION.event_id, SESSION_FIRST)),
        # A browser's copy of the order with props of its own, and the server's that outranks it.
        (
            [
                with_props(money("b1", "browser", "15"), coupon="B", plan="pro"),
                with_props(money("s1", "server", "15"), plan="team"),
            ],
            ("s1", {"plan": "team", "coupon": "B"}),
        ),
        # A lower copy without props adds nothing, and a copy of the same rank is a duplicate
        # whose props the kept copy takes too.
        (
            [
                plain("b0", "browser"),
                with_props(money("s2", "server", "15"), plan="team"),
                with_props(money("s3", "server", "15"), seats="3"),
            ],
            None,
        ),
    ],
)
@pytest.mark.parametrize("arrival", ["as-listed", "reversed"])
@pytest.mark.parametrize("loads", ["one-load", "one-load-with-a-repeat", "one-load-each"])
def test_the_copy_kept_ends_with_every_copys_props_whatever_came_first(
    tmp_path: Path,
    open_store: StoreFactory,
    copies: list[Event],
    kept: tuple[str, dict[str, str]] | None,
    arrival: str,
    loads: str,
) -> None:
    """The kept copy's own values win, then a higher copy's: the same props are stored whether
    the copy kept came before the others (and they are dropped) or after (and takes their
    place), in one load or across loads, in `events` and in `actions`."""
    from clycyo.identity.deriver import open_deriver

    ordered = copies if arrival == "as-listed" else copies[::-1]
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"), deriver=open_deriver(store))
    batches = [[c] for c in ordered] if loads == "one-load-each" else [ordered]
    if loads == "one-load-with-a-repeat":
        # A batch that repeats an event id is sorted out event by event, the others by order.
        batches = [[*ordered, tick("t"), tick("t")]]
    for batch in batches:
        assert writer.wait_loaded(log.append_sync(batch, []), 10)
    if kept is None:
        # Two server copies of one rank: the first to come is kept, with the other's props.
        first = next(c for c in ordered if c.origin == "server")
        kept = (first.event_id, {"plan": "team", "seats": "3"})
    assert _stored_props(store) == [kept]
    log.close()
    writer.stop()
    store.close()


def test_orders_stored_before_copies_had_a_rank_count_as_money_copies(tmp_path: Path) -> None:
    """A DuckDB file whose `orders` table has no `money` column yet gets it on opening; the
    copies it holds were money events as a rule, so a copy without money never replaces them."""
    import duckdb

    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute(
            "CREATE TABLE orders (site_id INTEGER NOT NULL, name VARCHAR NOT NULL,"
            " order_id VARCHAR NOT NULL, origin VARCHAR NOT NULL, event_id VARCHAR NOT NULL,"
            " PRIMARY KEY (site_id, name, order_id))"
        )
        old.execute("INSERT INTO orders VALUES (1, 'payment', 'o1', 'browser', 'b1')")
    parts = Parts(tmp_path, lambda folder: DuckDBStore(folder / "events.duckdb"))
    assert parts.store.orders([(1, "payment", "o1")]) == {
        (1, "payment", "o1"): order_copies.rank("browser", money=True, person=True)
    }
    parts.put(plain("b0", "browser"))
    assert parts.rows("SELECT count(*) FROM events") == [(0,)]
    parts.close()


def test_orders_stored_before_copies_named_a_person_count_as_naming_one(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """A store whose `orders` table has no `person` column yet gets it on opening; the copies
    it holds count as naming a person, so a later copy of the same money and origin that names
    one is a duplicate, not their replacement."""
    parts = Parts(tmp_path, open_store)
    parts.put(money("s0", "server", "15"))
    drop = "ALTER TABLE orders DROP COLUMN person"
    if parts.store.dialect == "duckdb":
        parts.store.execute(drop)
    else:
        parts.store.command(drop)  # type: ignore[attr-defined]
    parts.close()
    parts = Parts(tmp_path, open_store)
    assert parts.store.orders([(1, "payment", "o1")]) == {
        (1, "payment", "o1"): order_copies.rank("server", money=True, person=True)
    }
    parts.put(named(money("s1", "server", "15"), user_id="u_y"))
    assert counted_events(parts.store) == [("s0",)]
    parts.close()


def test_the_rank_of_a_stored_copy_survives_a_restart(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """The store's `orders` row says whether the copy names a person, so after a restart (the
    writer's check, and the pipeline's memory warmed from `all_orders`) the copies rank as
    before."""
    parts = Parts(tmp_path, open_store)
    parts.put(money("s0", "server", "15"))
    parts.close()
    parts = Parts(tmp_path, open_store)
    person_less = order_copies.rank("server", money=True, person=False)
    assert list(parts.store.all_orders()) == [(1, "payment", "o1", person_less)]
    parts.put(named(money("s1", "server", "15"), user_id="u_y"))
    parts.close()
    parts = Parts(tmp_path, open_store)
    named_rank = order_copies.rank("server", money=True, person=True)
    assert list(parts.store.all_orders()) == [(1, "payment", "o1", named_rank)]
    parts.put(money("s2", "server", "15"))
    assert counted_events(parts.store) == [("s1",)]
    assert parts.rows("SELECT event_id FROM orders") == [("s1",)]
    parts.close()
