"""The query benchmark's ClickHouse side: the same world in chDB, and its size on disk.

`chdb_copy` copies the DuckDB world into a chDB folder beside it with `clycyo migrate`'s code
(reused when a finished copy exists), then lets ClickHouse merge the parts as a running server
would in the background (queries never depend on it, see `store/clickhouse/schema.py`).
`disk_bytes` reads the active parts' sizes from `system.parts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clycyo.commands.migrate import migrate
from clycyo.store.clickhouse.schema import LAYOUTS
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import ChdbTransport


def chdb_copy(
    duckdb_path: Path, source: Any, threads: int, say: Callable[[str], None]
) -> ClickHouseStore:
    """The chDB copy of the world in `duckdb_path` (`source`: a connection to it)."""
    folder = duckdb_path.with_suffix(".chdb")
    store = ClickHouseStore(ChdbTransport(str(folder), "bench"), loader="bench")
    store.command(f"SET max_threads = {int(threads)}")
    done = store.execute("SELECT count() FROM meta WHERE key = 'bench_copy_done'")[0][0]
    if done:
        say(f"reusing {folder}")
        return store
    say(f"copying {duckdb_path.name} into chDB ({folder}) …")
    started = time.perf_counter()
    counts = migrate(source, store, progress=True)
    copied = time.perf_counter() - started
    if any(expected != found for expected, found in counts.values()):
        raise RuntimeError(f"the copy is incomplete: {counts}")
    started = time.perf_counter()
    for table in LAYOUTS:
        store.command(f"OPTIMIZE TABLE {table} FINAL")
    say(f"copied in {copied:.0f} s, parts merged in {time.perf_counter() - started:.0f} s")
    store.command("INSERT INTO meta (key, value, version) VALUES ('bench_copy_done', 1, 1)")
    return store


def disk_bytes(store: ClickHouseStore) -> dict[str, dict[str, Any]]:
    """Per table: rows and compressed bytes of the active parts."""
    rows = store.execute(
        "SELECT table, sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes)"
        " FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table"
    )
    return {
        table: {"rows": int(n), "bytes": int(size), "uncompressed_bytes": int(raw)}
        for table, n, size, raw in rows
    }
