"""Choose the event store from a storage URL (CONTRACT §1 `--storage`)."""

from __future__ import annotations

from pathlib import Path

from clycyo.store.base import EventStore


class StorageURLError(ValueError):
    pass


def open_store(url: str | None, data_dir: Path) -> EventStore:
    """`None` or `duckdb://[PATH]`: embedded DuckDB (default `DATA/events.duckdb`)."""
    if url is None or url in ("duckdb", "duckdb://"):
        from clycyo.store.duckdb.store import DuckDBStore

        return DuckDBStore(data_dir / "events.duckdb")
    if url.startswith("duckdb://"):
        from clycyo.store.duckdb.store import DuckDBStore

        return DuckDBStore(Path(url.removeprefix("duckdb://")))
    raise StorageURLError(
        f"unsupported storage URL {url!r}: use duckdb://PATH, chdb://PATH or "
        "clickhouse://user:pass@host:8123/db"
    )
