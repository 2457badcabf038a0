"""Retention: a site's events older than its `retention_days` are deleted, everywhere they are.

"Everywhere" is the event store (events, the order keys of deleted events, and the derived
tables that carry a time), the intake log (records not yet loaded, or loaded but still in the
current segment) and the quarantine. The work runs as a job on the writer thread (`Writer.submit`),
so it never races a load; the server starts it once a day and `POST /api/admin/retention` starts
it at once. Sites without `retention_days` keep everything.

A visit goes whole or not at all: once its last event (or an event that joined it) is older than
the cutoff, with all its events; a visit that goes on after the cutoff keeps its earlier events
too, so no event kept loses its visit (`doomed`). Events outside any visit go by their own time.
Both engines delete by the same conditions, written here once. An order left with no copy is
named to the pipeline's memory of orders (`apply`'s `forget_order`), so that a later copy of it
is accepted as the order's only one, not answered as a duplicate of what is gone; an event
already older than the cutoff when it arrives is kept out by the pipeline (`filter_expired`).

This module decides what is old and deletes it; it does not schedule itself beyond `due`, and it
never touches configuration or salts (those rotate on their own, see `pipeline/salts.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from clycyo.config.store import Site
from clycyo.identity import narrow
from clycyo.identity.visit import GAP_US
from clycyo.model import Event
from clycyo.pipeline.validate import EARLIEST_US
from clycyo.query.dialect import Dialect
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine

log = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000
HOUR_US = 3600 * 1_000_000
RUN_EVERY_S = 24 * 3600.0
# Derived tables (maintained by the writer's deriver) whose rows belong to a visit, and the
# column that dates their rows: trimmed with the events, by the same rule. `vital_hours` (counts
# of many visits' vitals per hour) is recounted instead; a derived table not named is left alone.
DERIVED_TIME_COLUMNS = {
    "visits": "started_at",
    "pageviews": "time",
    "engagements": "time",
    "actions": "time",
    "vitals": "time",
}
# How far from its visit an event of that visit may lie: a server event joins a visit up to a
# minute before it starts and up to 30 minutes (`GAP_US`) after its last event.
_NEAR_US = GAP_US


@dataclass
class RetentionReport:
    events: dict[str, int] = field(default_factory=dict)  # by site domain
    intake_events: int = 0
    quarantined: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "intake_events": self.intake_events,
            "quarantined": self.quarantined,
        }


def cutoffs_us(sites: Iterable[Site], now_us: int) -> dict[int, int]:
    """Site id → the time before which its events go (sites with a retention only). A retention
    reaching before the earliest time an event may have (`validate`) deletes nothing, and its
    cutoff would not fit the stores' timestamps: such a site keeps everything."""
    return {
        site.id: now_us - site.retention_days * DAY_US
        for site in sites
        if site.retention_days is not None
        and site.retention_days > 0
        and now_us - site.retention_days * DAY_US > EARLIEST_US
    }


def doomed(dialect: str, column: str, site_id: int, before_us: int) -> tuple[str, list[Any]]:
    """The condition (and its parameters) on a table with `site_id`, `visit_id` and the time
    column `column` that picks the rows retention deletes: those dated before the cutoff,
    except the rows of a visit that goes on after it (its last event, or an event that joined
    it, at or after the cutoff). A visit goes whole, with all its events, or not at all, so no
    event kept loses its visit; rows outside any visit go by their own time."""
    spell = Dialect(dialect)
    before, near = spell.from_epoch_us("?"), spell.from_epoch_us("?")
    condition = (
        f"site_id = ? AND {column} < {before} AND (visit_id IS NULL OR (visit_id NOT IN"
        f" (SELECT visit_id FROM visits WHERE site_id = ? AND ended_at >= {before}"
        f" AND started_at < {near}) AND visit_id NOT IN (SELECT visit_id FROM events"
        f" WHERE site_id = ? AND time >= {before} AND time < {near}"
        f" AND visit_id IS NOT NULL AND {spell.in_visit('visit_id')})))"
    )
    far = before_us + _NEAR_US
    return condition, [site_id, before_us, site_id, before_us, far, site_id, before_us, far]


def recount_bounds(dialect: str, site_id: int, before_us: int) -> tuple[str, str, list[Any]]:
    """The `vitals` read and the `vital_hours` condition of the hours to recount: every hour
    up to the one the cutoff falls in (that one holds vitals on both sides of it). The hours
    are counted again from the vitals left in them (`narrow.vital_hours`)."""
    spell = Dialect(dialect)
    end = spell.from_epoch_us("?")
    read = (
        f"SELECT site_id, {spell.epoch_us('time')}, NULL, NULL, metric, value FROM vitals"
        f" WHERE site_id = ? AND time < {end}"
    )
    hours_end_us = before_us - before_us % HOUR_US + HOUR_US
    return read, f"site_id = ? AND hour < {end}", [site_id, hours_end_us]


def trim_store(store: Any, site_id: int, before_us: int) -> int:
    """Delete a site's events before `before_us` (and what refers only to them), keeping the
    visits that go on after it whole; returns the events deleted."""
    if store.dialect != "duckdb":
        trim = getattr(store, "trim", None)
        if trim is None:
            raise NotImplementedError(f"retention on {store.dialect}")
        return int(trim(site_id, before_us))
    cursor = store.cursor()
    cursor.execute("BEGIN TRANSACTION")
    try:
        before = "make_timestamp(?::BIGINT)"
        derived = {t: c for t, c in DERIVED_TIME_COLUMNS.items() if _has_column(cursor, t, c)}
        # Without the visits table (no deriver) events go by their own time.
        old, params = (
            doomed("duckdb", "time", site_id, before_us)
            if "visits" in derived
            else (f"site_id = ? AND time < {before}", [site_id, before_us])
        )
        # fetchall, not fetchone: a result left unfinished keeps the connection busy.
        ((deleted,),) = cursor.execute(f"DELETE FROM events WHERE {old}", params).fetchall()
        # An order key whose event is gone would silently refuse a later, legitimate copy.
        cursor.execute(
            "DELETE FROM orders WHERE site_id = ? AND NOT EXISTS (SELECT 1 FROM events e"
            " WHERE e.site_id = orders.site_id AND e.event_id = orders.event_id)",
            [site_id],
        )
        # `visits` last: the others' condition reads it.
        for table in sorted(derived, key=lambda name: name == "visits"):
            condition, params = doomed("duckdb", derived[table], site_id, before_us)
            # Table and column names come from the fixed mapping above.
            cursor.execute(f"DELETE FROM {table} WHERE {condition}", params)
        if "vitals" in derived and _has_column(cursor, "vital_hours", "hour"):
            read, hours, params = recount_bounds("duckdb", site_id, before_us)
            recounted = narrow.vital_hours(cursor.execute(read, params).fetchall())
            cursor.execute(f"DELETE FROM vital_hours WHERE {hours}", params)
            cursor.register("recounted_hours", recounted)
            try:
                cursor.execute("INSERT INTO vital_hours SELECT * FROM recounted_hours")
            finally:
                cursor.unregister("recounted_hours")
        if _has_column(cursor, "identities", "linked_at"):
            # Old links go, but each visitor keeps its latest: it still decides whom that
            # visitor's later events belong to; and a link whose event was kept stays with it.
            cursor.execute(
                f"DELETE FROM identities WHERE site_id = ? AND linked_at < {before}"
                " AND (visitor_id, linked_at) NOT IN (SELECT visitor_id, max(linked_at)"
                " FROM identities WHERE site_id = ? GROUP BY visitor_id) AND event_id NOT IN"
                f" (SELECT event_id FROM events WHERE site_id = ? AND time < {before})",
                [site_id, before_us, site_id, site_id, before_us],
            )
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return int(deleted)


def _has_column(cursor: Any, table: str, column: str) -> bool:
    rows = cursor.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?"
        " AND table_name IN (SELECT table_name FROM information_schema.columns"
        " WHERE column_name = 'site_id')",
        [table, column],
    ).fetchall()
    return bool(rows and rows[0][0])


def old_orders(store: Any, site_id: int, before_us: int) -> list[tuple[int, str, str]]:
    """The site's orders whose stored copy is dated before `before_us`: those retention may
    delete (a visit that goes on after the cutoff keeps its copies)."""
    before = Dialect(store.dialect).from_epoch_us("?")
    rows = store.execute(
        "SELECT DISTINCT name, order_id FROM orders WHERE site_id = ? AND event_id IN"
        f" (SELECT event_id FROM events WHERE site_id = ? AND time < {before})",
        [site_id, site_id, before_us],
    )
    return [(site_id, str(name), str(order_id)) for name, order_id in rows]


def apply(
    store: Any,
    intake: IntakeLog,
    quarantine: Quarantine,
    sites: list[Site],
    now_us: int | None = None,
    *,
    forget_order: Callable[[int, str, str], None] | None = None,
) -> RetentionReport:
    """Apply every site's retention once (call it on the writer thread). `forget_order` is told
    each order whose every copy is gone, so that the pipeline's memory of orders
    (`pipeline/memory.py`) no longer answers a later copy of it as a duplicate: that copy is
    the order's only one now, and is stored."""
    now = now_us if now_us is not None else time.time_ns() // 1000
    cutoffs = cutoffs_us(sites, now)
    report = RetentionReport()
    if not cutoffs:
        return report
    domains = {site.id: site.domain for site in sites}
    # Orders that lost a copy: each is forgotten if the store holds none of it afterwards.
    touched: set[tuple[int, str, str]] = set()
    for site_id, before_us in cutoffs.items():
        if forget_order is not None:
            touched.update(old_orders(store, site_id, before_us))
        report.events[domains[site_id]] = trim_store(store, site_id, before_us)
        report.quarantined += quarantine.trim(site_id, before_us)

    def keep(event: Event) -> bool:
        before_us = cutoffs.get(event.site_id)
        if before_us is None or event.time_us >= before_us:
            return True
        if event.order_id is not None:
            touched.add((event.site_id, event.name, event.order_id))
        return False

    report.intake_events = intake.rewrite(keep)
    if forget_order is not None and touched:
        stored = store.orders(list(touched))
        for site_id, name, order_id in touched.difference(stored):
            forget_order(site_id, name, order_id)
    log.info(
        "retention: %d events deleted from the store, %d from the intake log, %d quarantined",
        sum(report.events.values()),
        report.intake_events,
        report.quarantined,
    )
    return report


class RetentionSchedule:
    """Starts `apply` on the writer once per `every_s` (the first time soon after start)."""

    def __init__(self, every_s: float = RUN_EVERY_S, first_after_s: float = 60.0) -> None:
        self.every_s = every_s
        self.next_at_s = time.monotonic() + first_after_s
        self.running: Future[RetentionReport] | None = None

    def maybe_start(self, submit: Callable[[Callable[[], Any]], Future[Any]], job: Any) -> bool:
        if time.monotonic() < self.next_at_s or (self.running and not self.running.done()):
            return False
        self.next_at_s = time.monotonic() + self.every_s
        self.running = submit(job)
        return True
