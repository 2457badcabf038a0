"""`clycyo migrate`: copy a DuckDB event store into ClickHouse, resumable, checked by counts.

The copy is planned as chunks — each table a day at a time (a table without times in one
chunk) — numbered in a fixed order. Each chunk is one load of the ClickHouse store's log
`migrate` (`ClickHouseStore.load`): whole or undone, and committed by its number, so a run
that is stopped anywhere starts again after the last whole chunk. The plan's fingerprint is
kept beside it: a source that changed since the first run (a server wrote to it) is refused,
since resuming would mix two states. At the end the intake checkpoints are carried over, so a
server started on the same data folder with `--storage` replays exactly what DuckDB lacked,
and the rows of every table are counted on both sides.

The source must be closed (stop the server, or migrate a backup's copy): DuckDB lets one
process open a file. This command writes nothing but the target.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
from tqdm import tqdm

from clycyo.store.base import LOCAL_SOURCE, InUse
from clycyo.store.clickhouse.transport import TransportError
from clycyo.store.open import LOADER_FILE, StorageURLError, chdb_location, check_url, open_store

SOURCE = "migrate"
PLAN_KEY = "migrate_plan"
# Tables in copy order, with the column that dates their rows (None: one chunk).
TABLES: tuple[tuple[str, str | None], ...] = (
    ("events", "time"),
    ("actions", "time"),
    ("pageviews", "time"),
    ("engagements", "time"),
    ("vitals", "time"),
    ("vital_hours", "hour"),
    ("visits", "started_at"),
    ("identities", None),
    ("orders", None),
)
Chunk = tuple[str, str | None, Any, int]  # table, time column, day (or None), rows


class MigrationError(Exception):
    pass


def open_source(path: Path) -> duckdb.DuckDBPyConnection:
    """The DuckDB file, read-only; `InUse` when a server holds it."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "Could not set lock" not in str(exc):
            raise
        raise InUse(f"{path} is held by another process ({exc})") from None


def _open_target(url: str, data_dir: Path) -> Any:
    """The ClickHouse store; when it cannot be opened, what the attempt created (the loader's
    name in the data folder, a new chDB folder) is removed again."""
    new = [data_dir / LOADER_FILE]
    if url.startswith("chdb://"):
        new.append(Path(chdb_location(url)[0]))
    new = [path for path in new if not path.exists()]
    try:
        return open_store(url, data_dir)
    except BaseException:
        for path in new:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def plan(source: duckdb.DuckDBPyConnection) -> list[Chunk]:
    """Every chunk to copy, in a fixed order, with its row count."""
    present = {
        row[0] for row in source.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    }
    chunks: list[Chunk] = []
    for table, column in TABLES:
        if table not in present:
            continue
        if column is None:
            (count,) = source.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
            chunks.append((table, None, None, int(count)))
            continue
        for day, count in source.execute(
            f"SELECT CAST({column} AS DATE) AS day, count(*) FROM {table} GROUP BY day ORDER BY day"
        ).fetchall():
            chunks.append((table, column, day, int(count)))
    return chunks


def fingerprint(chunks: list[Chunk]) -> int:
    text = "\n".join(f"{t}|{d}|{n}" for t, _, d, n in chunks).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=7).digest(), "little")


def _rows(source: duckdb.DuckDBPyConnection, chunk: Chunk) -> Any:
    table, column, day, _ = chunk
    # A relation hands its Arrow batches over; a DB-API result would copy them first.
    if column is None:
        return source.sql(f"SELECT * FROM {table}").to_arrow_table()
    return source.sql(
        f"SELECT * FROM {table} WHERE CAST({column} AS DATE) = $day", params={"day": day}
    ).to_arrow_table()


def migrate(
    source_path: Path | duckdb.DuckDBPyConnection, target: Any, *, progress: bool = True
) -> dict[str, tuple[int, int]]:
    """Copy the DuckDB file `source_path` (or an open connection to it) into the ClickHouse
    store `target`; returns per table (source rows, rows the migration stored)."""
    opened = isinstance(source_path, Path)
    source = (
        duckdb.connect(str(source_path), read_only=True)
        if isinstance(source_path, Path)
        else source_path
    )
    try:
        chunks = plan(source)
        wanted = fingerprint(chunks)
        done = target.loaded_seq(SOURCE)
        if done:
            stored = target.execute(
                "SELECT argMax(value, version) FROM meta WHERE key = ?", [PLAN_KEY]
            )
            if stored and stored[0][0] != wanted:
                raise MigrationError(
                    "the source changed since this migration began: migrate a stopped"
                    " server's data folder, or start again on an empty target"
                )
        else:
            target.command(
                "INSERT INTO meta (key, value, version) VALUES (?, ?, ?)",
                [PLAN_KEY, wanted, time.time_ns()],
            )
        total = sum(chunk[3] for chunk in chunks)
        skipped = sum(chunk[3] for chunk in chunks[:done])
        with tqdm(total=total, initial=skipped, unit="rows", disable=not progress) as bar:
            for number, chunk in enumerate(chunks, start=1):
                if number <= done:
                    continue
                target.load(SOURCE, number, [(chunk[0], _rows(source, chunk))])
                bar.update(chunk[3])
        checkpoints = source.execute(
            "SELECT key, value FROM meta WHERE key LIKE 'intake_seq%'"
        ).fetchall()
        for key, value in checkpoints:
            name = LOCAL_SOURCE if key == "intake_seq" else key.removeprefix("intake_seq:")
            target.advance(name, int(value))
        return _counts(source, target, chunks)
    finally:
        if opened:
            source.close()


def _counts(
    source: duckdb.DuckDBPyConnection, target: Any, chunks: list[Chunk]
) -> dict[str, tuple[int, int]]:
    mine = f"{target.loader}/{SOURCE}"
    counts: dict[str, tuple[int, int]] = {}
    for table in dict.fromkeys(chunk[0] for chunk in chunks):
        (expected,) = source.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
        found = target.execute(f"SELECT count() FROM {table} WHERE loader = ?", [mine])
        counts[table] = (int(expected), int(found[0][0]))
    return counts


def run(args: argparse.Namespace, data_dir: Path) -> int:
    source = Path(args.source.removeprefix("duckdb://")) if args.source else None
    source = source or data_dir / "events.duckdb"
    if not args.target.startswith(("chdb://", "clickhouse://", "clickhouses://")):
        print("clycyo: --to must be chdb://PATH or clickhouse://…", file=sys.stderr)
        return 2
    try:
        check_url(args.target)
    except StorageURLError as exc:
        print(f"clycyo: --to: {exc}", file=sys.stderr)
        return 2
    if not source.is_file():
        print(f"clycyo: no DuckDB event store at {source}", file=sys.stderr)
        return 1
    # The driver warns of each failed connection, which the error below reports.
    logging.getLogger("clickhouse_connect").setLevel(logging.ERROR)
    # The source first: a server holding it is the likelier problem, and checking it creates
    # nothing.
    try:
        connection = open_source(source)
    except duckdb.Error as exc:
        print(f"clycyo: {source}: {exc}", file=sys.stderr)
        return 1
    try:
        target = _open_target(args.target, data_dir)
        try:
            counts = migrate(connection, target, progress=not args.quiet and sys.stderr.isatty())
        finally:
            target.close()
    except (MigrationError, StorageURLError, TransportError, duckdb.Error, OSError) as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    width = max(len(table) for table in counts) if counts else 5
    print(f"{'table':<{width}}  {'DuckDB':>12}  {'ClickHouse':>12}")
    for table, (expected, found) in counts.items():
        print(f"{table:<{width}}  {expected:>12,}  {found:>12,}")
    if any(expected != found for expected, found in counts.values()):
        print("clycyo: the counts differ; run the migration again to finish it", file=sys.stderr)
        return 1
    print(f"migrated {source} to {args.target}; start the server with --storage {args.target}")
    return 0
