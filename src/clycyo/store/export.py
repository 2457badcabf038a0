"""A site's raw events as a stream of Arrow record batches, for `clycyo export`.

One SELECT over the events table, read in batches so a site of any size exports in bounded
memory. The columns are the stored event minus the store's own bookkeeping (fingerprints,
intake sequence numbers); `props` is JSON text so that CSV can carry it too. The same function
serves the running server (`POST /api/admin/export` streams the batches to the CLI) and the CLI
on a data folder no server holds. Writing files is the CLI's business, not this module's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from clycyo.store.columns import NAMES

_INTERNAL = {"event_fp", "seq", "site_id"}
EXPORT_COLUMNS = tuple(name for name in NAMES if name not in _INTERNAL)
_SELECT = ", ".join(
    "CAST(to_json(props) AS VARCHAR) AS props" if name == "props" else name
    for name in EXPORT_COLUMNS
)
BATCH_ROWS = 50_000


class ExportRange:
    """Whole UTC days `[from_day, to_day]`; either end may be open."""

    def __init__(self, from_day: str | None = None, to_day: str | None = None) -> None:
        self.from_day = dt.date.fromisoformat(from_day) if from_day else None
        self.to_day = dt.date.fromisoformat(to_day) if to_day else None

    def where(self, site_id: int) -> tuple[str, list[Any]]:
        clauses: list[str] = ["site_id = ?"]
        params: list[Any] = [site_id]
        if self.from_day is not None:
            clauses.append("time >= ?")
            params.append(dt.datetime.combine(self.from_day, dt.time()))
        if self.to_day is not None:
            clauses.append("time < ?")
            params.append(dt.datetime.combine(self.to_day + dt.timedelta(days=1), dt.time()))
        return " AND ".join(clauses), params


def count(cursor: Any, site_id: int, span: ExportRange) -> int:
    where, params = span.where(site_id)
    rows = cursor.execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchall()
    return int(rows[0][0]) if rows else 0


def batches(
    cursor: Any, site_id: int, span: ExportRange, batch_rows: int = BATCH_ROWS
) -> pa.RecordBatchReader:
    """The site's events in time order, as Arrow record batches of at most `batch_rows`."""
    where, params = span.where(site_id)
    # A relation streams its batches; a DB-API result would copy every row first.
    relation = cursor.sql(
        f"SELECT {_SELECT} FROM events WHERE {where} ORDER BY time, event_id", params=params
    )
    reader: pa.RecordBatchReader = relation.to_arrow_reader(batch_rows)
    return reader


def iterate(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
