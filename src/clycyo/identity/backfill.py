"""Filling a narrow table added to a store that already holds events: `engagements`.

The writer fills each narrow copy with the events of each load (`narrow.py`); a table the schema
gained later is empty on a store made before it, while its events are stored. When the store
opens (before the writer writes), an empty `engagements` beside stored engagement reports is
filled from them, by the rules the writer applies (`narrow.report_values`), a day at a time,
each day written before the next is read, so that memory holds a day's reports, not all of them.
On DuckDB the fill is one transaction. On ClickHouse each day is inserted as load 0 of the
store's loader (committed, as retention's recounted hours are), between two rows of `meta`
(`engagements_fill`: 1 when it starts, 2 when it is done): a fill that fails deletes what it
wrote, and one a killed process left unfinished is emptied and made again at the next open.
This must not run beside the writer: an engagement report loaded meanwhile would be copied
twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from clycyo.identity import narrow
from clycyo.identity.schema import ENGAGEMENT_SCHEMA
from clycyo.query.dialect import Dialect
from clycyo.store.columns import rows_table

log = logging.getLogger(__name__)

_DAY_US = 86_400 * 1_000_000
# A ClickHouse fill's states in `meta` (`engagements_fill`).
_STARTED, _DONE = 1, 2


def fill_engagements(store: Any) -> int:
    """Copy the stored engagement reports into an empty `engagements`; returns the rows written
    (0 where the table has rows or there are no reports)."""
    if store.dialect != "duckdb" and _fill_state(store) == _STARTED:
        log.info("engagements: a fill left unfinished is made again")
        store.delete("engagements", "1 = 1", [])
    if _any(store, "SELECT 1 FROM engagements LIMIT 1"):
        return 0
    if not _any(store, "SELECT 1 FROM events WHERE name = 'engagement' LIMIT 1"):
        return 0
    spell = Dialect(store.dialect)
    micros = spell.epoch_us("time")
    day_of = f"intDiv({micros}, {_DAY_US})" if spell.clickhouse else f"{micros} // {_DAY_US}"
    days = [
        int(day)
        for (day,) in store.execute(
            f"SELECT DISTINCT {day_of} AS day FROM events WHERE name = 'engagement' ORDER BY day"
        )
    ]
    read = (
        f"SELECT site_id, {micros}, visit_id, page, hostname, type, name, origin,"
        f" props FROM events WHERE name = 'engagement' AND time >= {spell.from_epoch_us('?')}"
        f" AND time < {spell.from_epoch_us('?')}"
    )
    page_key = narrow.PageKeys()

    def day_tables() -> Iterator[pa.Table]:
        # One day at a time, each written before the next is read: a store's whole history of
        # reports would otherwise be held at once.
        for day in days:
            rows = [
                (
                    site,
                    t,
                    visit,
                    page_key(page or ""),
                    page,
                    host,
                    kind,
                    name,
                    origin,
                    *narrow.report_values(dict(props or {})),
                )
                for site, t, visit, page, host, kind, name, origin, props in store.execute(
                    read, [day * _DAY_US, (day + 1) * _DAY_US]
                )
            ]
            yield rows_table(rows, ENGAGEMENT_SCHEMA)

    if store.dialect == "duckdb":
        written = _insert_duckdb(store, day_tables())
    else:
        written = _insert_clickhouse(store, day_tables())
    log.info("engagements: %d engagement reports copied from the events", written)
    return written


def _any(store: Any, sql: str) -> bool:
    return bool(store.execute(sql))


def _insert_duckdb(store: Any, tables: Iterator[pa.Table]) -> int:
    """Insert `tables` in one transaction (the reads that make them run in it, on this thread's
    cursor, which is the store's `execute`'s); returns the rows written."""
    cursor = store.cursor()
    cursor.execute("BEGIN TRANSACTION")
    written = 0
    try:
        for table in tables:
            # Read by DuckDB's scan of this local name, not `register`ed: a registered table is
            # held by the transaction until it ends, every day's at once.
            filled_rows = cursor.from_arrow(table)  # noqa: F841
            cursor.execute("INSERT INTO engagements BY NAME SELECT * FROM filled_rows")
            written += table.num_rows
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return written


def _fill_state(store: Any) -> int:
    rows = store.execute("SELECT argMax(value, version) FROM meta WHERE key = 'engagements_fill'")
    return int(rows[0][0] or 0) if rows else 0


def _mark_fill(store: Any, state: int) -> None:
    store.command(
        "INSERT INTO meta (key, value, version) VALUES ('engagements_fill', ?, ?)",
        [state, time.time_ns()],
    )


def _insert_clickhouse(store: Any, tables: Iterator[pa.Table]) -> int:
    from clycyo.store.clickhouse.maintenance import insert_committed

    _mark_fill(store, _STARTED)
    written = 0
    try:
        for index, rows in enumerate(tables):
            insert_committed(store, "engagements", rows, f"engagements:{index}")
            written += rows.num_rows
    except BaseException:
        # Empty again, so that the next open fills it whole.
        store.delete("engagements", "1 = 1", [])
        raise
    _mark_fill(store, _DONE)
    return written
