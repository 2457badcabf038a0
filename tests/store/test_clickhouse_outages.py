"""Collectors loading into ClickHouse lose and double nothing while ClickHouse fails and returns.

Two collectors (each a runtime with its own data folder, intake log, writer and deriver, as on
two machines) load into one chDB database through a transport that can be down, fail part-way
through a load, lose the answer to a commit, or close its chDB session and open it again. One
collector is also stopped mid-load and started again, as after a crash. At the end every event
is stored once and every answer equals that of one DuckDB runtime fed the same events. When
ClickHouse is down long enough to fill the intake backlog bound, the collector answers `503`
with `Retry-After`, and nothing it acknowledged is lost.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from clycyo import runtime as runtime_module
from clycyo.app import build_app
from clycyo.runtime import Runtime, Settings
from clycyo.store.base import EventStore
from clycyo.store.open import loader_name
from tests.small_world import IPHONE, SmallWorld

pytest.importorskip("chdb")
from clycyo.store.clickhouse.store import ClickHouseStore
from tests.store.flaky import FlakyTransport

_databases = itertools.count()


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch, chdb_folder: Path) -> dict[Path, FlakyTransport]:
    """Runtimes opened in this test load into one chDB database through flaky transports (one
    per data folder, the latest kept)."""
    database = f"outage{next(_databases)}"
    made: dict[Path, FlakyTransport] = {}

    def open_store(url: str | None, data_dir: Path, *, memory_limit: str | None) -> EventStore:
        transport = FlakyTransport(str(chdb_folder), database)
        made[data_dir] = transport
        return ClickHouseStore(transport, loader=loader_name(data_dir))

    monkeypatch.setattr(runtime_module, "open_store", open_store)
    return made


def _visitor_events(world: SmallWorld, visitor: str, start: float) -> list[dict[str, Any]]:
    """A small session of one visitor, with deterministic event ids."""
    events = [
        world.pageview(visitor, start, "/", referrer="https://www.google.com/"),
        world.pageview(visitor, start + 1, "/pricing", user_agent=IPHONE),
        world.browser(visitor, start + 2, "engagement", "/pricing", props={"engaged_ms": 900}),
        world.browser(visitor, start + 3, "signup", "/pricing"),
        world.identify(visitor, f"user-{visitor}", start + 3.5),
        world.payment(start + 4, "10.00", f"order-{visitor}-{start}", user_id=f"user-{visitor}"),
    ]
    for n, event in enumerate(events):
        event["event_id"] = f"{visitor}-{start}-{n}"
    return events


def _wait_for(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _answers(world: SmallWorld) -> list[Any]:
    return [
        world.query(metrics=m, dimensions=d)["results"]
        for m, d in (
            (["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"], []),
            (["events", "visitors"], ["event:name"]),
            (["revenue", "orders", "conversions"], ["first_touch:source"]),
            (["visitors", "visits"], ["visit:device", "time:hour"]),
        )
    ]


def test_collectors_lose_and_double_nothing_while_clickhouse_fails(
    tmp_path: Path, chdb_folder: Path, flaky: dict[Path, FlakyTransport]
) -> None:
    url = "chdb://unused"  # the fixture supplies the store
    collectors = [SmallWorld(tmp_path / name, storage=url) for name in ("a", "b")]
    a, b = collectors
    sent: list[tuple[int, list[dict[str, Any]]]] = []  # which collector got what

    def batch(round_: int, wait: bool = False) -> None:
        for index, world in enumerate(collectors):
            for visitor in range(3):
                events = _visitor_events(world, f"c{index}v{visitor}", 60 + 10 * round_)
                world.send(*events, wait=wait)
                sent.append((index, events))

    def transport(world: SmallWorld) -> FlakyTransport:
        return flaky[world.runtime.settings.data_dir]

    batch(0, wait=True)
    # Loads that fail part-way (events stored, visits not): undone, then loaded whole.
    transport(a).inserts_left = 2
    batch(1)
    _wait_for(lambda: transport(a).failures > 0)
    transport(a).inserts_left = None
    # A commit that was stored but whose answer was lost: taken back, then loaded again.
    transport(b).lose_commit_answer = True
    batch(2)
    _wait_for(lambda: transport(b).failures > 0)
    # ClickHouse down for both: events are accepted into the logs; then the sessions restart.
    for world in collectors:
        transport(world).down = True
    batch(3)
    batch(4)
    assert all(w.runtime.writer.lag_records > 0 for w in collectors)
    for world in collectors:
        transport(world).restart()
        transport(world).down = False
    # A collector stopped in the middle of a load (rows of half a load in ClickHouse), and
    # started again on its data folder: it undoes the half load and replays its log.
    failures = transport(a).failures
    transport(a).inserts_left = 3
    transport(a).down_after_inserts = True
    batch(5)
    _wait_for(lambda: transport(a).failures > failures)
    a.runtime.writer.stop(timeout_s=0.2)
    a.runtime.intake.close()
    a.runtime.store.close()
    half = b.runtime.store.execute(
        "SELECT count() FROM events WHERE loader = ? AND load_seq > ?",
        [loader_name(tmp_path / "a" / "data"), a.runtime.writer.loaded_seq],
    )
    assert half[0][0] > 0  # what the next start must undo
    a = collectors[0] = SmallWorld(tmp_path / "a", storage=url)
    batch(6)
    for world in collectors:
        assert world.runtime.writer.wait_loaded(world.runtime.intake.last_seq, 30)

    store = b.runtime.store
    doubled = store.execute("SELECT event_id FROM events GROUP BY event_id HAVING count() > 1")
    assert doubled == []
    expected = sorted(e["event_id"] for _, events in sent for e in events)
    assert [r[0] for r in store.execute("SELECT event_id FROM events ORDER BY 1")] == expected
    # Every derived table agrees too: the same answers as one DuckDB runtime given the same
    # events (each visitor's events reach one collector, as a load balancer with affinity does).
    reference = SmallWorld(tmp_path / "duckdb")
    for _, events in sent:
        reference.send(*events, wait=False)
    assert reference.runtime.writer.wait_loaded(reference.runtime.intake.last_seq, 30)
    assert _answers(b) == _answers(reference) == _answers(a)
    for world in (*collectors, reference):
        world.close()


def test_a_full_backlog_answers_503_and_loses_nothing(
    tmp_path: Path, flaky: dict[Path, FlakyTransport]
) -> None:
    data = tmp_path / "data"
    runtime = Runtime.open(
        Settings(data_dir=data, storage_url="chdb://unused", max_backlog_bytes=20_000)
    )
    created = runtime.config.add_site("shop.test")
    headers = {"Authorization": f"Bearer {created.secret_key}"}
    flaky[data].down = True
    acknowledged: list[str] = []
    with TestClient(build_app(runtime)) as client:
        refused = None
        for n in range(200):
            batch = [{"name": "tick", "event_id": f"e{n}-{i}"} for i in range(20)]
            answer = client.post("/api/collect", json={"batch": batch}, headers=headers)
            if answer.status_code == 503:
                refused = answer
                break
            assert answer.status_code == 200
            acknowledged += [e["event_id"] for e in batch]
        assert refused is not None, "the backlog bound was never reached"
        assert int(refused.headers["retry-after"]) > 0
        assert acknowledged
        health = client.get("/healthz")
        assert (health.status_code, health.json()["status"]) == (503, "store_behind")
        assert "connection refused" in health.json()["writer_error"]
        flaky[data].down = False
        assert runtime.writer.wait_loaded(runtime.intake.last_seq, 30)
        health = client.get("/healthz")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        late = {"name": "tick", "event_id": "late"}
        again = client.post("/api/collect", json=late, headers=headers)
        assert again.status_code == 200
        assert runtime.writer.wait_loaded(runtime.intake.last_seq, 30)
        stored = runtime.store.execute("SELECT event_id, count() FROM events GROUP BY event_id")
    assert sorted(stored) == sorted((i, 1) for i in [*acknowledged, "late"])


def test_a_collector_finds_the_events_another_one_stored(
    tmp_path: Path, flaky: dict[Path, FlakyTransport]
) -> None:
    first, second = (SmallWorld(tmp_path / name, storage="chdb://unused") for name in "ab")
    events = _visitor_events(first, "v", 60)
    first.send(*events)
    stored = first.runtime.store.execute("SELECT site_id, event_fp, time, event_id FROM events")
    asked = [
        (int(site), int(row_time.replace(tzinfo=dt.UTC).timestamp() * 1e6), int(fp))
        for site, fp, row_time, _ in stored
    ]
    other = second.runtime.store
    assert other.ids_of(asked) == {(int(site), event_id) for site, _, _, event_id in stored}
    assert other.ids_of([(1, asked[0][1], 12345)]) == set()
    # A client's retry that reaches the other collector is stored once.
    second.send(*events)
    assert second.runtime.writer.stats.duplicates == len(events)
    assert second.runtime.store.execute("SELECT count() FROM events")[0][0] == len(stored)
    for world in (first, second):
        world.close()
