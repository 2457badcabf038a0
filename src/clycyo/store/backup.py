"""A consistent copy of a data folder, taken while the server runs (`clycyo backup DEST`).

Each store is copied by its own engine's safe means, never by copying its files mid-write:
SQLite files (configuration, quarantine, Stripe links) through SQLite's online backup API, the
DuckDB event store with `COPY FROM DATABASE` into a fresh file. The intake log's segments are
copied after the event store, from the writer thread, so every record the copy of the store has
not loaded is in the copied log (the writer deletes segments only on its own thread), and the
copy, opened by `clycyo serve --data DEST`, replays them; collector processes' logs are copied
too, with what they hold beyond the copied store's checkpoints. A torn record at the end of a
copied segment was not yet acknowledged, and is cut off like after a crash.

The destination is itself a data folder. This module copies; it does not decide when (the
server's admin endpoint runs `copy_event_store` and `copy_intake` as a writer job).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from clycyo.store.intake_reader import collector_logs
from clycyo.store.open import LOADER_FILE

EVENTS_FILE = "events.duckdb"
# Small files copied as they are: the demo's keys, and the name under which ClickHouse keeps how
# far it loaded this folder's intake log (without it the copy would load its log as a stranger).
_KEPT_FILES = ("demo.json", LOADER_FILE)


class BackupError(Exception):
    pass


def prepare(dest: Path) -> None:
    if not dest.is_absolute():
        raise BackupError("dest: an absolute path is required")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"dest: {dest} exists and is not an empty folder")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)


def copy_sqlite_files(data_dir: Path, dest: Path) -> list[str]:
    copied = []
    for source in sorted(data_dir.glob("*.sqlite")):
        with sqlite3.connect(source) as origin, sqlite3.connect(dest / source.name) as target:
            origin.backup(target)
        target.close()
        origin.close()
        os.chmod(dest / source.name, 0o600)
        copied.append(source.name)
    for name in _KEPT_FILES:
        if (data_dir / name).is_file():
            shutil.copy2(data_dir / name, dest / name)
            copied.append(name)
    return copied


def copy_event_store(cursor: Any, dest: Path) -> None:
    """Copy the open DuckDB database of `cursor` into `dest/events.duckdb`."""
    target = dest / EVENTS_FILE
    source_name = _database_name(cursor)
    cursor.execute("ATTACH ? AS clycyo_backup", [str(target)])
    try:
        # The database name is DuckDB's own (from the file name), quoted as an identifier.
        cursor.execute(f'COPY FROM DATABASE "{source_name}" TO clycyo_backup')
    finally:
        cursor.execute("DETACH clycyo_backup")
    os.chmod(target, 0o600)  # every event: the owner's only, whatever the umask


def copy_duckdb_file(
    source: Path, target: Path, *, progress: bool = False, memory_limit: str | None = None
) -> None:
    """Copy the rows of every table of a DuckDB file no process holds into a new file (its
    deleted rows stay behind); `progress` shows DuckDB's progress bar on a terminal;
    `memory_limit` bounds DuckDB's memory for the copy ("512MB"; None: DuckDB's default)."""
    import duckdb

    # A read-only connection cannot attach a file to write: open the copy, read the original.
    config: dict[str, str | bool | int | float | list[str]] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    connection = duckdb.connect(str(target), config=config)
    os.chmod(target, 0o600)  # every event: the owner's only, whatever the umask
    try:
        if progress:
            connection.execute("SET enable_progress_bar = true")
        connection.execute("ATTACH ? AS clycyo_source (READ_ONLY)", [str(source)])
        target_name = _database_name(connection)
        connection.execute(f'COPY FROM DATABASE clycyo_source TO "{target_name}"')
        connection.execute("DETACH clycyo_source")
    finally:
        connection.close()


def _database_name(cursor: Any) -> str:
    rows = cursor.execute("SELECT current_database()").fetchall()
    return str(rows[0][0]).replace('"', '""')


def copy_intake(intake_dir: Path, dest: Path) -> int:
    """Copy the intake log's segments, and those of every collector process's log (`w0/`, …):
    a folder a server with `--workers` left after a crash holds there what they acknowledged
    and the store had not yet loaded. Returns how many segments were copied."""
    target = dest / intake_dir.name
    target.mkdir(mode=0o700, exist_ok=True)
    copied = 0
    for segment in sorted(intake_dir.glob("*.log")):
        _copy_private(segment, target / segment.name)
        copied += 1
    for folder in collector_logs(intake_dir.parent):
        (target / folder.name).mkdir(mode=0o700, exist_ok=True)
        for segment in sorted(folder.glob("*.log")):
            _copy_private(segment, target / folder.name / segment.name)
            copied += 1
    return copied


def _copy_private(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)


def offline(data_dir: Path, dest: Path) -> dict[str, Any]:
    """Back up a data folder no server holds (the CLI does this itself)."""
    prepare(dest)
    files = copy_sqlite_files(data_dir, dest)
    events = data_dir / EVENTS_FILE
    if events.exists():
        copy_duckdb_file(events, dest / EVENTS_FILE)
        files.append(EVENTS_FILE)
    segments = copy_intake(data_dir / "intake", dest) if (data_dir / "intake").is_dir() else 0
    return {"dest": str(dest), "files": files, "intake_segments": segments}
