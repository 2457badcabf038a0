"""Rewrite the DuckDB event store into a new file holding only its live rows (`clycyo compact`).

DuckDB reuses the space of deleted rows but does not give it back to the file system, and the
values of deleted rows stay in the blocks that held them until DuckDB rewrites those blocks.
After an erasure that must leave the disk at once, or retention that removed much, a compaction
copies every table into a fresh file (`COPY FROM DATABASE`, which copies rows, not blocks) and
puts it in place of the old one. The server must be stopped: DuckDB lets one process open the
file, and this says so (`InUse`) if a server holds it.

The steps are ordered for a crash at any point: the old file's write-ahead log is folded into it
first, so the old file is whole on its own; the copy is written beside it, synced and checked
for the same row counts; then it is renamed over the old file (one atomic step) and the folder
synced. Before the rename the old file is the store (a leftover copy is removed by the next
compaction); after it, the new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from clycyo.store.backup import EVENTS_FILE, copy_duckdb_file
from clycyo.store.duckdb.store import DuckDBStore, wal_path
from clycyo.store.durable import fsync_path

COPY_SUFFIX = ".compact"


class CompactError(Exception):
    pass


def compact(
    data_dir: Path, *, progress: bool = False, memory_limit: str | None = None
) -> dict[str, Any]:
    """Compact `data_dir`'s event store in place; its size before and after, in bytes.
    `memory_limit` bounds DuckDB's memory ("512MB"; None: DuckDB's default)."""
    events = data_dir / EVENTS_FILE
    if not events.is_file():
        raise CompactError(f"{events}: no DuckDB event store here")
    store = DuckDBStore(events, memory_limit=memory_limit)  # InUse if a server holds it
    try:
        store.cursor().execute("CHECKPOINT")  # the old file whole without its log
        tables = _row_counts(store.cursor())
    finally:
        store.close()
    wal = wal_path(events)
    if wal.exists() and wal.stat().st_size:
        raise CompactError(f"{wal}: DuckDB's log was not folded into the file; nothing changed")
    before = events.stat().st_size
    copy = events.with_name(events.name + COPY_SUFFIX)
    copy.unlink(missing_ok=True)  # left by a compaction cut short
    wal_path(copy).unlink(missing_ok=True)
    copy_duckdb_file(events, copy, progress=progress, memory_limit=memory_limit)
    with duckdb.connect(str(copy), read_only=True) as connection:  # counts: metadata only
        copied = _row_counts(connection)
    if copied != tables:
        copy.unlink(missing_ok=True)
        raise CompactError(f"the copy holds {copied} rows, not {tables}; nothing changed")
    fsync_path(copy)
    os.replace(copy, events)
    fsync_path(data_dir)
    return {"file": str(events), "before_bytes": before, "after_bytes": events.stat().st_size}


def _row_counts(cursor: Any) -> dict[str, int]:
    names = cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    counts = {}
    for (name,) in names:
        quoted = str(name).replace('"', '""')  # a name from the catalog, as an identifier
        counts[str(name)] = int(cursor.execute(f'SELECT count(*) FROM "{quoted}"').fetchone()[0])
    return counts
