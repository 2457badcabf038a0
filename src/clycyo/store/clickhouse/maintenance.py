"""Deletes on ClickHouse: erasure of a person, retention, and compaction of cancelled visit states.

ClickHouse deletes with lightweight `DELETE` (rows masked at once, removed by later merges), one
table at a time and without a transaction; each of these jobs runs on the writer thread between
loads (`Writer.submit`), and each may run again after a failure with the same result, which is
what makes the missing transaction harmless. Counts are read before deleting, since a delete
does not report them. The tables' layouts are `schema.py`'s; the choice of what to delete is the
caller's (`identity/erase.py`, `store/retention.py`, `identity/compaction.py`).
"""

from __future__ import annotations

from typing import Any

from clycyo.query.builder import SUPERSEDED

_SEQ_PREFIX = "intake_seq:"
# Cancelled pairs whose cancelling row its loader has committed (a load not yet committed may
# still be undone, and must find its rows as it left them).
_CANCELLED = (
    "SELECT c.visit_id, c.state FROM visits c INNER JOIN (SELECT substring(key, ?) AS loader,"
    " argMax(value, version) AS done FROM meta WHERE startsWith(key, ?) GROUP BY key) d"
    " ON c.loader = d.loader WHERE c.sign = -1 AND c.load_seq <= d.done"
)
_CANCELLED_PARAMS = [len(_SEQ_PREFIX) + 1, _SEQ_PREFIX]
# Derived tables with a time column: retention trims them with the events.
_DATED = {
    "visits": "started_at",
    "pageviews": "time",
    "actions": "time",
    "vitals": "time",
    "vital_hours": "hour",
}


def _count(store: Any, sql: str, params: list[Any]) -> int:
    rows = store.execute(sql, params)
    return int(rows[0][0]) if rows else 0


def erase_rows(
    store: Any, site_id: int, event_ids: list[str], visit_ids: list[int], user_id: str | None
) -> tuple[int, int, int]:
    """Delete a person's rows; returns (events, visits, identity links) deleted."""
    by_event = "site_id = ? AND has(CAST(? AS Array(String)), event_id)"
    by_visit = "site_id = ? AND has(CAST(? AS Array(UInt64)), visit_id)"
    events_params = [site_id, event_ids]
    visit_params = [site_id, visit_ids]
    # Counted as DuckDB counts them: a superseded browser copy is no stored event there.
    visible = SUPERSEDED.replace("{site}", "?")
    events = _count(
        store,
        f"SELECT count() FROM events e WHERE {by_event.replace('site_id', 'e.site_id', 1)}"
        f" AND {visible}",
        [*events_params, site_id],
    )
    visits = _count(store, f"SELECT uniqExact(visit_id) FROM visits WHERE {by_visit}", visit_params)
    links = 0
    if user_id is not None:
        links = _count(
            store,
            "SELECT count() FROM identities WHERE site_id = ? AND user_id = ?",
            [site_id, user_id],
        )
    for table in ("events", "orders", "actions"):
        store.delete(table, by_event, events_params)
    for table in ("visits", "vitals", "pageviews"):
        store.delete(table, by_visit, visit_params)
    if user_id is not None:
        store.delete("identities", "site_id = ? AND user_id = ?", [site_id, user_id])
    return events, visits, links


def trim(store: Any, site_id: int, before_us: int) -> int:
    """Delete a site's events before `before_us`, and what dates from then; returns events."""
    before = "fromUnixTimestamp64Micro(toInt64(?), 'UTC')"
    deleted = _count(
        store,
        f"SELECT count() FROM events WHERE site_id = ? AND time < {before}",
        [site_id, before_us],
    )
    store.delete("events", f"site_id = ? AND time < {before}", [site_id, before_us])
    # An order key whose event is gone would silently refuse a later, legitimate copy.
    store.delete(
        "orders",
        "site_id = ? AND event_id NOT IN (SELECT event_id FROM events WHERE site_id = ?)",
        [site_id, site_id],
    )
    for table, column in _DATED.items():
        # Table and column names come from the fixed mapping above.
        store.delete(table, f"site_id = ? AND {column} < {before}", [site_id, before_us])
    # Old links go, but each visitor keeps its latest: it still decides whom that visitor's
    # later events belong to.
    store.delete(
        "identities",
        f"site_id = ? AND linked_at < {before} AND (visitor_id, linked_at) NOT IN"
        " (SELECT visitor_id, max(linked_at) FROM identities WHERE site_id = ?"
        " GROUP BY visitor_id)",
        [site_id, before_us, site_id],
    )
    return deleted


def compact_visits(store: Any) -> int:
    """Delete cancelled visit pairs; returns the rows deleted."""
    pairs = _count(store, f"SELECT count() FROM ({_CANCELLED})", _CANCELLED_PARAMS)
    if pairs:
        store.delete("visits", f"(visit_id, state) IN ({_CANCELLED})", _CANCELLED_PARAMS)
    return 2 * pairs
