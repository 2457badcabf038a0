"""How the ClickHouse store reaches an engine: chDB inside this process, or a server over HTTP.

One small interface — a query answered as an Arrow table, a statement, an insert of an Arrow
table — with two implementations: `ChdbTransport` (ClickHouse's in-process engine, the same SQL)
and `HttpTransport` (`clickhouse-connect` against a server or a cluster). Tests wrap a transport
to make it fail. Statements arrive with `{name:Type}` placeholders and their values as Python
objects; nothing here builds SQL beyond the INSERT line, and nothing here knows Clycyo's tables.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import io
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

Settings = Mapping[str, str | int]


class TransportError(Exception):
    """The engine could not be reached or refused a statement (the store retries later)."""


class Transport(Protocol):
    database: str

    def query_arrow(self, sql: str, params: Mapping[str, Any]) -> pa.Table: ...

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def insert_arrow(self, table: str, data: pa.Table, settings: Settings) -> None: ...

    def close(self) -> None: ...


# Settings every statement runs with, so both transports answer alike: outer joins fill misses
# with NULL as DuckDB does (not with 0 or ''), and deletes and mutations finish before they return.
SESSION_SETTINGS: dict[str, int] = {
    "join_use_nulls": 1,
    "lightweight_deletes_sync": 2,
    "mutations_sync": 2,
}


def text_value(value: Any) -> str:
    """A parameter value in ClickHouse's text form (what `{name:Type}` parses)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment.isoformat(sep=" ")
    if isinstance(value, list | tuple):
        inner = ",".join(_quoted(item) for item in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return str(value)


def _escaped(text: str) -> str:
    """A string parameter as ClickHouse reads one (escaped text, as the HTTP interface's
    parameters and clickhouse-connect's binding): a backslash would start an escape (`\\.`
    arriving as `.` in a regular expression) and a raw tab or newline would be refused."""
    return text.translate(_ESCAPES)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\\t", "\n": "\\\n", "'": "\\'"})


def _quoted(item: Any) -> str:
    if isinstance(item, str | dt.date):
        return f"'{_escaped(text_value(item))}'"
    return text_value(item)


# One lock per chDB folder, kept for the life of the process so that a store closing and
# another opening the same folder never hold two different locks.
_SESSION_LOCKS: dict[str, threading.RLock] = {}


class ChdbTransport:
    """chDB: one engine per process and folder, shared by every store opened on that folder.

    chDB takes one statement at a time per connection (a streaming insert blocks queries), so
    statements are serialised with a lock; the engine itself uses every core for each one.

    Every engine still open when the interpreter exits is closed by `close_all`, run by `atexit`:
    left to the C++ exit handlers, chDB's shutdown stops halfway (it raises "The
    ShutdownTablesThreadPool is not initialized" and goes on) and its background threads run
    merges and cleanups against objects already destroyed, a segmentation fault after the
    program's own end. A store a running thread still holds at exit would leave it so.
    """

    _open: dict[str, tuple[Any, int]] = {}  # folder → (session, stores using it)
    _registry_lock = threading.Lock()
    _closed_at_exit = False  # whether `close_all` is registered with atexit

    def __init__(self, folder: str, database: str = "clycyo") -> None:
        from chdb import session as chdb_session

        self.folder = folder
        self.database = database
        with self._registry_lock:
            found = self._open.get(folder)
            if found is None:
                opened = chdb_session.Session(folder)  # type: ignore[no-untyped-call]
                found = (opened, 0)
            self._open[folder] = (found[0], found[1] + 1)
            if not ChdbTransport._closed_at_exit:
                # Registered after chDB's import, so it runs before any exit hook of chDB's own.
                atexit.register(ChdbTransport.close_all)
                ChdbTransport._closed_at_exit = True
        self._session = found[0]
        self._lock = _SESSION_LOCKS.setdefault(folder, threading.RLock())
        self._closed = False
        self.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        self.command(f"USE {database}")
        for name, value in SESSION_SETTINGS.items():
            self.command(f"SET {name} = {value}")

    def _run(self, sql: str, fmt: str, params: Mapping[str, Any] | None) -> Any:
        if self._closed:
            raise TransportError("the chDB engine is closed")
        text = {
            k: _escaped(v) if isinstance(v, str) else text_value(v)
            for k, v in (params or {}).items()
        }
        with self._lock:
            self._check_open()
            try:
                return self._session.query(sql, fmt, params=text)
            except RuntimeError as exc:
                raise TransportError(str(exc)) from exc

    def query_arrow(self, sql: str, params: Mapping[str, Any]) -> pa.Table:
        result = self._run(sql, "ArrowTable", params)
        return result if isinstance(result, pa.Table) else pa.table({})

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "CSV", params)

    def insert_arrow(self, table: str, data: pa.Table, settings: Settings) -> None:
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, data.schema) as stream:
            stream.write_table(data)
        columns = ", ".join(data.column_names)
        extra = ", ".join(f"{k} = {_quoted(v)}" for k, v in settings.items())
        # Table and column names come from the store's schema, never from input.
        sql = f"INSERT INTO {table} ({columns})" + (f" SETTINGS {extra}" if extra else "")
        if self._closed:
            raise TransportError("the chDB engine is closed")
        with self._lock:
            self._check_open()
            try:
                # One streamed insert: about 5 times the rows per second of small INSERTs.
                connection: Any = self._session._conn
                with connection.send_insert(sql, "ArrowStream") as inserter:
                    inserter.append(sink.getvalue())
                    inserter.finish()
            except RuntimeError as exc:
                raise TransportError(str(exc)) from exc

    def _check_open(self) -> None:
        """Refuse a statement once the engine is closed (by `close_all`, for one): called with
        the folder's lock held, which the close takes too."""
        if self._open.get(self.folder, (None, 0))[0] is not self._session:
            raise TransportError("the chDB engine is closed")

    @classmethod
    def close_all(cls) -> None:
        """Close every engine still open, each once its statement under way has finished: a
        thread that sends another one after it gets a `TransportError`."""
        with cls._registry_lock:
            for folder in list(cls._open):
                with _SESSION_LOCKS.setdefault(folder, threading.RLock()):
                    session, _users = cls._open.pop(folder)
                    session.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._registry_lock:
            session, users = self._open.pop(self.folder, (None, 0))
            if session is None:
                return
            if users > 1:
                self._open[self.folder] = (session, users - 1)
            else:
                with self._lock:
                    session.close()


class HttpTransport:
    """A ClickHouse server or cluster over HTTP(S), through `clickhouse-connect`."""

    def __init__(self, url: str) -> None:
        import clickhouse_connect

        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.database = (parts.path or "/").strip("/") or "default"
        host = parts.hostname or "localhost"
        port = parts.port or (8443 if parts.scheme == "clickhouses" else 8123)
        try:
            with _driver_quiet():
                self._client = clickhouse_connect.get_client(
                    host=host,
                    port=port,
                    username=unquote(parts.username or "default"),
                    password=unquote(parts.password or ""),
                    database=self.database,
                    secure=parts.scheme == "clickhouses",
                    # Without a session id one client may serve many threads at once.
                    autogenerate_session_id=False,
                    settings={**SESSION_SETTINGS, **_numbers(options)},
                )
        except Exception as exc:  # the driver connects (and asks the version) at once
            # The driver's message wraps the system's reason in three layers of HTTP pool text.
            found = re.search(r"\[Errno -?\d+\] [^\"')]+", str(exc))
            reason = found[0] if found else str(exc)
            message = f"cannot connect to ClickHouse at {host}:{port}: {reason}"
            raise TransportError(message) from exc

    def query_arrow(self, sql: str, params: Mapping[str, Any]) -> pa.Table:
        try:
            table: pa.Table = self._client.query_arrow(sql, parameters=_server_side(params))
        except Exception as exc:  # the driver raises its own hierarchy and OSError
            raise TransportError(str(exc)) from exc
        return table

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        try:
            self._client.command(sql, parameters=_server_side(params or {}))
        except Exception as exc:
            raise TransportError(str(exc)) from exc

    def insert_arrow(self, table: str, data: pa.Table, settings: Settings) -> None:
        try:
            self._client.insert_arrow(table, data, settings=dict(settings))
        except Exception as exc:
            raise TransportError(str(exc)) from exc

    def close(self) -> None:
        self._client.close()


# The loggers that speak while the driver's first request fails: urllib3's retry and the
# driver's own "Unexpected Http Driver Exception".
_DRIVER_LOGGERS = ("urllib3.connectionpool", "clickhouse_connect.driver._backend.http_sync")


class _OtherThreadsOnly(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self._thread or record.levelno > logging.WARNING


@contextlib.contextmanager
def _driver_quiet() -> Iterator[None]:
    """Drop this thread's warnings of the driver while it connects: a failure to connect is
    raised as one `TransportError` that says it all, and a retry on the way is no news. What
    other threads log through the same loggers meanwhile passes."""
    quiet = _OtherThreadsOnly()
    loggers = [logging.getLogger(name) for name in _DRIVER_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def _server_side(params: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the driver binds them, except times: it would drop their microseconds."""
    return {k: text_value(v) if isinstance(v, dt.datetime) else v for k, v in params.items()}


def _numbers(options: dict[str, str]) -> dict[str, int | str]:
    """Settings given in the URL's query (`?max_threads=4`), as numbers where they are."""
    return {k: int(v) if v.isdigit() else v for k, v in options.items() if k != "cluster"}
