"""Retention deletes a site's old events from the store, the intake log and the quarantine."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from clycyo import local_server
from clycyo.config.store import ConfigStore, Site
from clycyo.identity.deriver import open_deriver
from clycyo.model import Event, Rejection
from clycyo.store import retention
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.writer import Writer
from tests.serverproc import ServerProcess, clycyo
from tests.store.conftest import StoreFactory

NOW_US = 1_800_000_000 * 1_000_000
DAY_US = retention.DAY_US


def event(event_id: str, site_id: int, age_days: float, order: str | None = None) -> Event:
    return Event(
        site_id=site_id,
        event_id=event_id,
        time_us=NOW_US - int(age_days * DAY_US),
        received_us=NOW_US,
        origin="server",
        type="event",
        name="payment" if order else "t",
        order_id=order,
        revenue_amount="1" if order else None,
        revenue_currency="EUR" if order else None,
    )


def rejection(site_id: int, age_days: float) -> Rejection:
    received = NOW_US - int(age_days * DAY_US)
    return Rejection(site_id=site_id, received_us=received, trusted=True, error="x", payload="{}")


def test_old_events_go_from_every_place(tmp_path: Path, open_store: StoreFactory) -> None:
    store = open_store(tmp_path)
    intake = IntakeLog(tmp_path / "intake")
    quarantine = Quarantine(tmp_path / "q.sqlite")
    writer = Writer(store, intake, quarantine)
    kept_site, trimmed_site = (
        Site(1, "keep.example", "pk_1"),
        Site(2, "trim.example", "pk_2", retention_days=30),
    )
    loaded = [
        event("old-1", 2, 40, order="o-old"),
        event("new-1", 2, 10),
        event("old-other", 1, 400),
    ]
    seq = intake.append_sync(loaded, [rejection(2, 45), rejection(2, 5), rejection(1, 400)])
    assert writer.wait_loaded(seq, 10)
    # Events the store has not loaded yet (a stopped writer) are trimmed in the log.
    writer.fault_injection = "store unreachable"
    intake.append_sync([event("old-2", 2, 31), event("new-2", 2, 29)], [])

    report = writer.submit(
        lambda: retention.apply(store, intake, quarantine, [kept_site, trimmed_site], NOW_US)
    ).result(10)

    assert report.events == {"trim.example": 1}
    assert report.intake_events >= 2  # old-1 (still in the segment) and old-2 (not loaded)
    assert report.quarantined == 1
    writer.fault_injection = None
    assert writer.wait_loaded(intake.last_seq, 10)
    ids = sorted(r[0] for r in store.execute("SELECT event_id FROM events"))
    assert ids == ["new-1", "new-2", "old-other"]
    assert store.execute("SELECT count(*) FROM orders")[0][0] == 0
    assert quarantine.count(2) == 1 and quarantine.count(1) == 1
    writer.stop()
    intake.close()
    store.close()


def test_the_orders_retention_deleted_are_forgotten(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """Each order left with no copy, in the store or in the intake log, is named to
    `forget_order` (the pipeline's memory of orders); an order still stored is not."""
    store = open_store(tmp_path)
    intake = IntakeLog(tmp_path / "intake")
    quarantine = Quarantine(tmp_path / "q.sqlite")
    writer = Writer(store, intake, quarantine)
    site = Site(2, "trim.example", "pk_2", retention_days=30)
    seq = intake.append_sync(
        [event("old-1", 2, 40, order="o-old"), event("new-1", 2, 10, order="o-new")], []
    )
    assert writer.wait_loaded(seq, 10)
    writer.fault_injection = "store unreachable"
    intake.append_sync([event("old-2", 2, 31, order="o-log")], [])
    forgotten: list[tuple[int, str, str]] = []

    def forget(site_id: int, name: str, order_id: str) -> None:
        forgotten.append((site_id, name, order_id))

    writer.submit(
        lambda: retention.apply(store, intake, quarantine, [site], NOW_US, forget_order=forget)
    ).result(10)

    assert sorted(forgotten) == [(2, "payment", "o-log"), (2, "payment", "o-old")]
    writer.fault_injection = None
    writer.stop()
    intake.close()
    store.close()


def test_a_retention_reaching_before_any_event_keeps_everything(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """`site set --retention-days` takes any number: one whose cutoff lies before the year
    2000, when no event can be dated (`validate`), deletes nothing rather than failing."""
    store = open_store(tmp_path)
    intake = IntakeLog(tmp_path / "intake")
    quarantine = Quarantine(tmp_path / "q.sqlite")
    writer = Writer(store, intake, quarantine)
    seq = intake.append_sync([event("old", 2, 9000, order="o-old")], [rejection(2, 9000)])
    assert writer.wait_loaded(seq, 10)
    forever = [Site(2, "forever.example", "pk_2", retention_days=10**9)]
    forgotten: list[tuple[int, str, str]] = []

    report = writer.submit(
        lambda: retention.apply(
            store, intake, quarantine, forever, NOW_US, forget_order=lambda *k: forgotten.append(k)
        )
    ).result(10)

    assert (report.events, report.intake_events, report.quarantined) == ({}, 0, 0)
    assert [r[0] for r in store.execute("SELECT event_id FROM events")] == ["old"]
    assert forgotten == []
    writer.stop()
    intake.close()
    store.close()


def identify(event_id: str, visitor_id: str, user_id: str, age_days: float) -> Event:
    return Event(
        site_id=1,
        event_id=event_id,
        time_us=NOW_US - int(age_days * DAY_US),
        received_us=NOW_US,
        origin="server",
        type="identify",
        name="identify",
        visitor_id=visitor_id,
        user_id=user_id,
    )


def test_each_visitors_latest_link_outlives_retention(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    store = open_store(tmp_path)
    intake = IntakeLog(tmp_path / "intake")
    quarantine = Quarantine(tmp_path / "q.sqlite")
    writer = Writer(store, intake, quarantine, deriver=open_deriver(store))
    site = Site(1, "links.example", "pk_1", retention_days=30)
    links = [
        # A shared browser: ann, then bob; both links are old, bob's is the latest.
        identify("i-1", "shared", "ann", 50),
        identify("i-2", "shared", "bob", 40),
        # An old link superseded by a recent one.
        identify("i-3", "moved", "carl", 60),
        identify("i-4", "moved", "dora", 5),
        # An old link, the visitor's only one.
        identify("i-5", "lone", "erin", 90),
    ]
    assert writer.wait_loaded(intake.append_sync(links, []), 10)

    def stored() -> set[tuple[str, str]]:
        rows = store.execute("SELECT visitor_id, user_id FROM identities WHERE site_id = 1")
        return {(visitor, user) for visitor, user in rows}

    assert stored() == {
        ("shared", "ann"),
        ("shared", "bob"),
        ("moved", "carl"),
        ("moved", "dora"),
        ("lone", "erin"),
    }
    report = writer.submit(lambda: retention.apply(store, intake, quarantine, [site], NOW_US))
    assert report.result(10).events == {"links.example": 4}  # every identify but dora's
    assert stored() == {("shared", "bob"), ("moved", "dora"), ("lone", "erin")}
    writer.stop()
    intake.close()
    store.close()


def browser(
    event_id: str, visitor_id: str, age_min: float, kind: str = "pageview", **fields: object
) -> Event:
    """A browser event `age_min` minutes before a 30-day cutoff (negative: after it)."""
    return Event(
        site_id=1,
        event_id=event_id,
        time_us=NOW_US - 30 * DAY_US - int(age_min * 60_000_000),
        received_us=NOW_US,
        origin="browser",
        type="pageview" if kind == "pageview" else "event",
        name=kind,
        visitor_id=visitor_id,
        page=f"/{event_id}",
        hostname="visits.example",
        **fields,  # type: ignore[arg-type]
    )


def vital(event_id: str, visitor_id: str, age_min: float, value: str) -> Event:
    props = {"metric": "LCP", "value": value, "rating": "good"}
    return browser(event_id, visitor_id, age_min, "web_vital", props=props)


def test_a_visit_that_goes_on_after_the_cutoff_keeps_all_its_events(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    """A visit goes once its last event is older than the cutoff, whole: events, visit, narrow
    copies and the hourly vitals agree after the run."""
    store = open_store(tmp_path)
    intake = IntakeLog(tmp_path / "intake")
    quarantine = Quarantine(tmp_path / "q.sqlite")
    writer = Writer(store, intake, quarantine, deriver=open_deriver(store))
    site = Site(1, "visits.example", "pk_1", retention_days=30)
    server_late = browser("late-server", "joined", -5, "signup")
    server_late.origin = "server"
    events = [
        # Began 12 minutes before the cutoff, went on 10 minutes after it.
        browser("straddle-1", "straddler", 12),
        vital("straddle-vital", "straddler", 11, "1200"),
        browser("straddle-click", "straddler", 8, "clicked"),
        browser("straddle-2", "straddler", -10),
        vital("straddle-vital-2", "straddler", -11, "900"),
        # Over before the cutoff, but a server event joined it after the cutoff.
        browser("joined-1", "joined", 10),
        server_late,
        # Over well before the cutoff: it goes.
        browser("gone-1", "gone", 3 * 60),
        vital("gone-vital", "gone", 3 * 60 - 1, "2000"),
        browser("gone-click", "gone", 3 * 60 - 2, "clicked"),
        browser("gone-2", "gone", 15),
        vital("gone-vital-2", "gone", 14, "800"),
        # Long after the cutoff: untouched.
        browser("recent", "recent", -24 * 60),
        vital("recent-vital", "recent", -24 * 60 - 1, "700"),
    ]
    assert writer.wait_loaded(intake.append_sync(events, []), 10)
    report = writer.submit(lambda: retention.apply(store, intake, quarantine, [site], NOW_US))
    assert report.result(10).events == {"visits.example": 5}

    kept = {
        "straddle-1",
        "straddle-vital",
        "straddle-click",
        "straddle-2",
        "straddle-vital-2",
        "joined-1",
        "late-server",
        "recent",
        "recent-vital",
    }
    assert {row[0] for row in store.execute("SELECT event_id FROM events")} == kept
    # Every event kept still has its visit, and every visit left has its events.
    by_event = dict(store.execute("SELECT event_id, visit_id FROM events"))
    live = dict(
        store.execute(
            "SELECT visit_id, sum(sign) FROM visits GROUP BY visit_id HAVING sum(sign) > 0"
        )
    )
    assert set(by_event.values()) == set(live)
    assert len(live) == 3  # the straddling visit (with its server event's), the recent one
    assert by_event["straddle-1"] == by_event["straddle-2"]
    assert by_event["joined-1"] == by_event["late-server"]
    entries = store.execute(
        "SELECT entry_page FROM visits WHERE visit_id = ? AND sign = 1 ORDER BY state DESC LIMIT 1",
        [by_event["straddle-2"]],
    )
    assert entries == [("/straddle-1",)]
    # The narrow copies hold exactly the kept events of their kind.
    pages = {row[0] for row in store.execute("SELECT page FROM pageviews")}
    assert pages == {"/straddle-1", "/straddle-2", "/joined-1", "/recent"}
    actions = {row[0] for row in store.execute("SELECT event_id FROM actions")}
    assert actions == {"straddle-click", "late-server"}
    vitals = sorted(row[0] for row in store.execute("SELECT value FROM vitals"))
    assert vitals == [700.0, 900.0, 1200.0]
    # The hourly counts agree with the vitals left, hour by hour.
    per_vital = Counter(
        at.replace(minute=0, second=0, microsecond=0)
        for (at,) in store.execute("SELECT time FROM vitals")
    )
    per_hour = store.execute("SELECT hour, sum(n) FROM vital_hours GROUP BY hour")
    assert {hour: int(n) for hour, n in per_hour if n} == per_vital
    assert store.execute("SELECT count(*) FROM orders")[0][0] == 0
    writer.stop()
    intake.close()
    store.close()


def test_engagement_reports_go_with_their_visit(tmp_path: Path, open_store: StoreFactory) -> None:
    """The narrow copy of engagement reports follows its visit, as `pageviews` does."""
    store = open_store(tmp_path)
    intake = IntakeLog(tmp_path / "intake")
    quarantine = Quarantine(tmp_path / "q.sqlite")
    writer = Writer(store, intake, quarantine, deriver=open_deriver(store))
    site = Site(1, "visits.example", "pk_1", retention_days=30)
    read = {"scroll_depth": "50", "engaged_ms": "2000"}
    events = [
        browser("gone-1", "gone", 3 * 60),
        browser("gone-read", "gone", 3 * 60 - 1, "engagement", props=read),
        browser("straddle-1", "straddler", 12),
        browser("straddle-read", "straddler", 11, "engagement", props=read),
        browser("straddle-2", "straddler", -10),
        browser("recent", "recent", -24 * 60),
        browser("recent-read", "recent", -24 * 60 - 1, "engagement", props=read),
    ]
    assert writer.wait_loaded(intake.append_sync(events, []), 10)
    assert len(store.execute("SELECT page FROM engagements")) == 3
    report = writer.submit(lambda: retention.apply(store, intake, quarantine, [site], NOW_US))
    assert report.result(10).events == {"visits.example": 2}
    pages = {row[0] for row in store.execute("SELECT page FROM engagements")}
    assert pages == {"/straddle-read", "/recent-read"}
    writer.stop()


def test_the_schedule_starts_once_per_period() -> None:
    schedule = retention.RetentionSchedule(every_s=3600, first_after_s=0)
    started: list[object] = []

    def submit(job: object) -> object:
        from concurrent.futures import Future

        started.append(job)
        future: Future[None] = Future()
        future.set_result(None)
        return future

    assert schedule.maybe_start(submit, "job")  # type: ignore[arg-type]
    assert not schedule.maybe_start(submit, "job")  # type: ignore[arg-type]
    assert started == ["job"]


def test_site_set_retention_and_apply_through_the_server(own_server: ServerProcess) -> None:
    own_server.start()
    site = own_server.add_site("retained.example")
    now_ms = int(time.time() * 1000)
    batch = [
        {"name": "old", "event_id": "old", "timestamp": now_ms - 10 * 86_400_000},
        {"name": "new", "event_id": "new", "timestamp": now_ms - 2 * 86_400_000},
    ]
    assert site.post("/api/collect", {"batch": batch}, secret=True)[1]["accepted"] == 2
    out = clycyo(
        "site", "set", "retained.example", "--retention-days", "7", data=own_server.data_dir
    )
    assert "retention: 7 days" in out
    server = local_server.find(own_server.data_dir)
    assert server is not None
    status, report = server.call("POST", "/api/admin/retention")
    assert status == 200, report
    assert report["events"] == {"retained.example": 1}
    assert [e["event_id"] for e in site.events()] == ["new"]
    assert json.loads(clycyo("site", "list", "--json", data=own_server.data_dir))


def _retained_site(server: ServerProcess, domain: str, days: int) -> Any:
    site = server.add_site(domain)
    config = ConfigStore(server.data_dir / "config.sqlite")
    found = config.site_by_domain(site.site)
    assert found is not None
    config.update_site(found.id, retention_days=days)
    return site


def _payment(event_id: str, **fields: Any) -> dict[str, Any]:
    money = {"amount": "20.00", "currency": "EUR"}
    return {"name": "payment", "event_id": event_id, "order_id": "in_1", "revenue": money, **fields}


def test_a_copy_of_an_order_retention_deleted_is_answered_as_what_is_stored(
    own_server: ServerProcess,
) -> None:
    """Retention deleted an order's only copy; a later copy of it older than the cutoff is not
    stored and answered as ignored (not as a duplicate stored all the same), and one within the
    retention is the order's only copy now: accepted and stored."""
    own_server.start()
    site = _retained_site(own_server, "late-copies.example", 1)
    # Just within the retention when sent, past it a few seconds later.
    placed_ms = int(time.time() * 1000) - 86_400_000 + 2500
    first = _payment("p1", user_id="u1", timestamp=placed_ms, props={"plan": "pro"})
    assert site.post("/api/collect", first, secret=True)[1]["accepted"] == 1
    assert [e["event_id"] for e in site.events()] == ["p1"]
    time.sleep(max(0.0, placed_ms + 86_400_000 + 500 - time.time() * 1000) / 1000)
    server = local_server.find(own_server.data_dir)
    assert server is not None
    status, report = server.call("POST", "/api/admin/retention")
    assert status == 200, report
    assert report["events"] == {"late-copies.example": 1}

    late = _payment("p2", user_id="u1", timestamp=placed_ms, props={"billing_reason": "x"})
    status, answer = site.post("/api/collect", late, secret=True)
    assert status == 200
    assert (answer["accepted"], answer["duplicates"], answer["ignored"]) == (0, 0, 1)
    assert site.events() == []

    now = _payment("p3", user_id="u1", props={"billing_reason": "y"})
    status, answer = site.post("/api/collect", now, secret=True)
    assert (answer["accepted"], answer["duplicates"], answer["ignored"]) == (1, 0, 0)
    stored = site.events()
    assert [(e["event_id"], e["props"]) for e in stored] == [("p3", {"billing_reason": "y"})]
