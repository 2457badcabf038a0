"""Choose the event store from a storage URL (CONTRACT §1 `--storage`).

`duckdb://PATH` (the default, in the data folder), `chdb://PATH` (ClickHouse's in-process engine,
the folder PATH; `?database=NAME` picks a database, default `clycyo`) and
`clickhouse://user:pass@host:8123/db` (`clickhouses://` for TLS; `?cluster=NAME` for the tables
of a cluster, see docs/scaling.md; other query parameters are ClickHouse settings). A ClickHouse
store loads under a name kept in the data folder, so that several collectors, each with its own
intake log, can load into one database (see `store/clickhouse/store.py`).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from clycyo.store.base import EventStore

log = logging.getLogger(__name__)

LOADER_FILE = "clickhouse-loader"


class StorageURLError(ValueError):
    pass


_FORMS = "duckdb://PATH, chdb://PATH or clickhouse://user:pass@host:8123/db"


def check_url(url: str | None) -> None:
    """Raise `StorageURLError` unless `open_store` can open a store of this kind; opens nothing,
    so `serve` can refuse a typo before it creates anything."""
    if url is None or url == "duckdb" or url.startswith("duckdb://"):
        return
    if url.startswith("chdb://"):
        chdb_location(url)
        return
    if url.startswith(("clickhouse://", "clickhouses://")):
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError as exc:
            raise StorageURLError(f"storage URL: {exc}") from None
        if not parts.hostname:
            raise StorageURLError(f"storage URL {parts.scheme}://…: the server's host is missing")
        return
    raise StorageURLError(f"unsupported storage URL {url!r}: use {_FORMS}")


def loader_name(data_dir: Path) -> str:
    """This data folder's loader name (created once: host name and a random suffix)."""
    path = data_dir / LOADER_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    name = f"{socket.gethostname()[:40]}-{secrets.token_hex(4)}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()  # another process of this folder made it first
    with os.fdopen(fd, "w") as handle:
        handle.write(name + "\n")
    return name


def loads_into_clickhouse(data_dir: Path) -> bool:
    """Whether this data folder's intake log has been loaded into ClickHouse (by a server with
    `--storage` or by `clycyo migrate`): its events are then there, and an `events.duckdb` in
    the folder is at most what it held before the move."""
    try:
        return (data_dir / LOADER_FILE).exists()
    except PermissionError:
        return False  # a folder this user may not open: the folder's own check says so


def clickhouse_folder_refusal(data_dir: Path, what: str) -> str:
    """Why a command that opens the folder's DuckDB file itself does not `what` here."""
    return (
        f"{data_dir} loads its events into ClickHouse (it has {LOADER_FILE}): {what} through"
        " its running server (clycyo serve --storage …), not from the folder"
    )


def chdb_location(url: str) -> tuple[str, str]:
    """The folder and database of a `chdb://PATH[?database=NAME]` URL."""
    rest = url.removeprefix("chdb://")
    path, _, query = rest.partition("?")
    if not path:
        raise StorageURLError("chdb://PATH needs a folder")
    database = parse_qs(query).get("database", ["clycyo"])[-1]
    if not database.replace("_", "").isalnum():
        raise StorageURLError(f"database name {database!r}: letters, digits and _ only")
    return str(Path(path).resolve()), database


def open_store(url: str | None, data_dir: Path, *, memory_limit: str | None = None) -> EventStore:
    """`None` or `duckdb://[PATH]`: embedded DuckDB (default `DATA/events.duckdb`), its memory
    bounded by `memory_limit` when given (ClickHouse manages its own)."""
    if url is None or url in ("duckdb", "duckdb://"):
        from clycyo.store.duckdb.store import DuckDBStore

        return DuckDBStore(data_dir / "events.duckdb", memory_limit=memory_limit)
    if url.startswith("duckdb://"):
        from clycyo.store.duckdb.store import DuckDBStore

        return DuckDBStore(Path(url.removeprefix("duckdb://")), memory_limit=memory_limit)
    if url.startswith(("chdb://", "clickhouse://", "clickhouses://")):
        if memory_limit is not None:
            log.warning("the memory limit applies to DuckDB only; ClickHouse sets its own")
        from clycyo.store.clickhouse.store import ClickHouseStore
        from clycyo.store.clickhouse.transport import ChdbTransport, HttpTransport, Transport

        transport: Transport
        cluster = None
        if url.startswith("chdb://"):
            transport = ChdbTransport(*chdb_location(url))
        else:
            transport = HttpTransport(url)
            cluster = parse_qs(url.partition("?")[2]).get("cluster", [None])[-1]
        return ClickHouseStore(transport, loader=loader_name(data_dir), cluster=cluster)
    raise StorageURLError(f"unsupported storage URL {url!r}: use {_FORMS}")
