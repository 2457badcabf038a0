"""Deletes on ClickHouse: erasure of a person, retention, removal of a site, and compaction of
cancelled visit states.

ClickHouse deletes with lightweight `DELETE` (rows masked at once, removed by later merges), one
table at a time and without a transaction. Where a table takes lightweight updates (ClickHouse
25.7 and later, `schema.PATCHABLE`), the mask is a patch part of the rows deleted, which every
read applies at once; elsewhere it is a mutation that rewrites the row mask of each part it
matches (`ClickHouseStore.delete`). Each of these jobs runs on the writer thread between
loads (`Writer.submit`), and each may run again after a failure with the same result, which is
what makes the missing transaction harmless. Counts are read before deleting, since a delete
does not report them. The tables' layouts are `schema.py`'s; the choice of what to delete is the
caller's (`identity/erase.py`, `store/retention.py`, `store/site_removal.py`,
`identity/compaction.py`).
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

from clycyo.identity import narrow
from clycyo.query.builder import SUPERSEDED
from clycyo.store import retention
from clycyo.store.clickhouse import schema

_SEQ_PREFIX = "intake_seq:"
# Cancelled pairs whose cancelling row its loader has committed (a load not yet committed may
# still be undone, and must find its rows as it left them).
_CANCELLED = (
    "SELECT c.visit_id, c.state FROM visits c INNER JOIN (SELECT substring(key, ?) AS loader,"
    " argMax(value, version) AS done FROM meta WHERE startsWith(key, ?) GROUP BY key) d"
    " ON c.loader = d.loader WHERE c.sign = -1 AND c.load_seq <= d.done"
)
_CANCELLED_PARAMS = [len(_SEQ_PREFIX) + 1, _SEQ_PREFIX]


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
    for table in ("visits", "vitals", "pageviews", "engagements"):
        store.delete(table, by_visit, visit_params)
    if user_id is not None:
        store.delete("identities", "site_id = ? AND user_id = ?", [site_id, user_id])
    return events, visits, links


def trim(store: Any, site_id: int, before_us: int) -> int:
    """Delete a site's events before `before_us` by retention's rule (`retention.doomed`: a
    visit that goes on after the cutoff keeps all its rows), and what dates from then; returns
    the events deleted. Run again after a failure, it finishes: rows at or after the cutoff,
    which decide what stays, are never deleted, and the vital hours are recounted from scratch."""
    before = "fromUnixTimestamp64Micro(toInt64(?), 'UTC')"
    old, params = retention.doomed("clickhouse", "time", site_id, before_us)
    deleted = _count(store, f"SELECT count() FROM events WHERE {old}", params)
    store.delete("events", old, params)
    # An order key whose event is gone would silently refuse a later, legitimate copy.
    store.delete(
        "orders",
        "site_id = ? AND event_id NOT IN (SELECT event_id FROM events WHERE site_id = ?)",
        [site_id, site_id],
    )
    # `visits` last: the others' condition reads it.
    for table in ("pageviews", "engagements", "actions", "vitals", "visits"):
        condition, params = retention.doomed(
            "clickhouse", retention.DERIVED_TIME_COLUMNS[table], site_id, before_us
        )
        store.delete(table, condition, params)
    read, hours, params = retention.recount_bounds("clickhouse", site_id, before_us)
    recounted = narrow.vital_hours(store.execute(read, params))
    store.delete("vital_hours", hours, params)
    if recounted.num_rows:
        insert_committed(store, "vital_hours", recounted, f"retention:{site_id}:{before_us}")
    # Old links go, but each visitor keeps its latest: it still decides whom that visitor's
    # later events belong to; and a link whose event was kept stays with it.
    store.delete(
        "identities",
        f"site_id = ? AND linked_at < {before} AND (visitor_id, linked_at) NOT IN"
        " (SELECT visitor_id, max(linked_at) FROM identities WHERE site_id = ?"
        " GROUP BY visitor_id) AND event_id NOT IN (SELECT event_id FROM events"
        f" WHERE site_id = ? AND time < {before})",
        [site_id, before_us, site_id, site_id, before_us],
    )
    return deleted


def compact_visits(store: Any) -> int:
    """Delete cancelled visit pairs; returns the rows deleted."""
    pairs = _count(store, f"SELECT count() FROM ({_CANCELLED})", _CANCELLED_PARAMS)
    if pairs:
        store.delete("visits", f"(visit_id, state) IN ({_CANCELLED})", _CANCELLED_PARAMS)
    return 2 * pairs


def insert_committed(store: Any, table: str, rows: pa.Table, token: str) -> None:
    """Insert rows outside any load: as load 0 of the store's loader, committed from the start,
    so no undo takes them back."""
    count = rows.num_rows
    rows = rows.append_column("loader", pa.array([store.loader] * count, pa.string()))
    rows = rows.append_column("load_seq", pa.array([0] * count, pa.uint64()))
    # A token of its own: a replicated table would drop a block equal to an earlier one.
    settings: dict[str, str | int] = {"insert_deduplication_token": f"{token}:{time.time_ns()}"}
    if store.cluster:
        settings["insert_distributed_sync"] = 1
    store.transport.insert_arrow(table, rows, settings)


def remove_site(store: Any, site_id: int) -> dict[str, int]:
    """Delete every row of a site from every table of the schema with a `site_id` column; the
    rows deleted, by table (`events` as DuckDB counts them, `visits` in visits). Run again after
    a failure, it finishes: each delete takes whatever of the site is left."""
    tables = [name for name in schema.LAYOUTS if "site_id" in dict(schema.columns(name))]
    visible = SUPERSEDED.replace("{site}", "?")
    deleted: dict[str, int] = {}
    for table in tables:
        if table == "events":
            sql, params = (
                f"SELECT count() FROM events e WHERE e.site_id = ? AND {visible}",
                [
                    site_id,
                    site_id,
                ],
            )
        elif table == "visits":
            sql, params = "SELECT uniqExact(visit_id) FROM visits WHERE site_id = ?", [site_id]
        else:
            # Table names from the schema's fixed list.
            sql, params = f"SELECT count() FROM {table} WHERE site_id = ?", [site_id]
        deleted[table] = _count(store, sql, params)
    # `orders` after `events`: counting the events reads it.
    for table in tables:
        store.delete(table, "site_id = ?", [site_id])
    return deleted
