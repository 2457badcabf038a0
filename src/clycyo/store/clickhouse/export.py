"""A site's raw events from ClickHouse, as the Arrow batches `clycyo export` writes.

The same columns and types as the DuckDB export (`store/export.py`): the stored event without
the store's bookkeeping, `props` as JSON text (NULL when there are none), times as naive UTC,
and without the browser copies of orders that the server's copy superseded (DuckDB deletes
them; ClickHouse leaves them out when reading). Read one day at a time, so a site of any size
exports in bounded memory. Writing files is the CLI's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from clycyo.query.builder import superseded
from clycyo.store.export import EXPORT_COLUMNS, ExportRange

_SELECT = ", ".join(
    "if(empty(e.props), NULL, toJSONString(e.props)) AS props" if name == "props" else f"e.{name}"
    for name in EXPORT_COLUMNS
)
_DAY = dt.timedelta(days=1)


def _where(store: Any, site_id: int, span: ExportRange) -> tuple[str, list[Any]]:
    where, params = span.where(site_id)
    where = where.replace("site_id", "e.site_id").replace("time", "e.time")
    kept = superseded(store.dialect, "events", "?")
    return " AND ".join([where, *kept]), [*params, *([site_id] * len(kept))]


def count(store: Any, site_id: int, span: ExportRange) -> int:
    where, params = _where(store, site_id, span)
    rows = store.execute(f"SELECT count() FROM events e WHERE {where}", params)
    return int(rows[0][0]) if rows else 0


def _plain(table: pa.Table) -> pa.Table:
    """DuckDB's types: naive UTC times, plain text for ClickHouse's dictionary columns."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            columns.append(column.cast(kind.value_type))
        elif pa.types.is_timestamp(kind) and kind.tz is not None:
            columns.append(column.cast(pa.timestamp("us")))
        else:
            columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _days(store: Any, site_id: int, span: ExportRange) -> Iterator[pa.Table]:
    where, params = _where(store, site_id, span)
    first_last = store.execute(
        f"SELECT min(e.time), max(e.time), count() FROM events e WHERE {where}", params
    )
    if not first_last or not first_last[0][2]:
        return
    day = first_last[0][0].replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= first_last[0][1]:
        yield _plain(
            store.arrow(
                f"SELECT {_SELECT} FROM events e WHERE {where} AND e.time >= ? AND e.time < ?"
                " ORDER BY e.time, e.event_id",
                [*params, day, day + _DAY],
            )
        )
        day += _DAY


def batches(
    store: Any, site_id: int, span: ExportRange, batch_rows: int = 50_000
) -> pa.RecordBatchReader:
    """The site's events in time order, as Arrow record batches of at most `batch_rows`."""
    empty = _plain(store.arrow(f"SELECT {_SELECT} FROM events e LIMIT 0"))
    tables = (table for table in _days(store, site_id, span) if table.num_rows)

    def chunks() -> Iterator[pa.RecordBatch]:
        for table in tables:
            yield from table.cast(empty.schema).to_batches(max_chunksize=batch_rows)

    return pa.RecordBatchReader.from_batches(empty.schema, chunks())
