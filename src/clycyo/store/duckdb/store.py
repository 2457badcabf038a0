"""The embedded event store: one DuckDB file in the data folder.

DuckDB allows one process to open the file, so the serving process owns it: the writer thread
loads batches through its own cursor and queries run on per-thread cursors of the same database
(DuckDB's MVCC lets them read while the writer appends). Batches arrive as Arrow tables and are
appended in one statement; the intake sequence number they reach is recorded in the same
transaction, which is what makes replaying the intake log exact.

DuckDB writes each commit to its own write-ahead log and folds the log into the file (a
checkpoint) once it passes a size. Every checkpoint leaves each table's last row group partly
filled, and later checkpoints merge such row groups, rewriting several at once, so checkpoints
after every 16 MiB (DuckDB's default) cost the writer about an eighth of its CPU under load and
leave a file a fifth larger; Clycyo lets the log grow to `WAL_CHECKPOINT` instead (about 100,000
events, replayed in a third of a second when the process starts after a crash) and checkpoints
when the writer falls idle (`settle`), so the log does not stay large while nothing is written.

DuckDB's allocator (jemalloc) returns freed memory to the system only while it allocates or
frees, unless its background threads are on: without them a server that has just loaded a burst
of events (the demo, a backlog) keeps tens of MB it no longer uses for as long as it stays quiet.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from clycyo.observability import QUERY_SECONDS
from clycyo.order_copies import rank
from clycyo.store.base import LOCAL_SOURCE, AmendedCopy, InUse, StoredCopy, checkpoint_key
from clycyo.store.columns import COLUMNS, NAMES

WAL_CHECKPOINT = "64MiB"


def wal_path(database: Path) -> Path:
    """Where DuckDB keeps the write-ahead log of the database file `database`."""
    return database.with_name(database.name + ".wal")


def _schema() -> list[str]:
    columns = ",\n    ".join(f"{c.name} {c.duckdb}" for c in COLUMNS)
    return [
        f"CREATE TABLE IF NOT EXISTS events (\n    {columns}\n)",
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)",
        # The row each load updates in place (an update costs less than an upsert).
        "INSERT INTO meta VALUES ('intake_seq', 0) ON CONFLICT DO NOTHING",
        """CREATE TABLE IF NOT EXISTS orders (
            site_id INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            order_id VARCHAR NOT NULL,
            origin VARCHAR NOT NULL,
            event_id VARCHAR NOT NULL,
            PRIMARY KEY (site_id, name, order_id)
        )""",
        # Whether the stored copy carries money (`order_copies`); copies stored before this
        # column existed were money events as a rule.
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS money BOOLEAN DEFAULT true",
        # Whether it names a person (a user id or a visitor id). Copies stored before this
        # column existed count as naming one: a copy that names a person never replaces them.
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS person BOOLEAN DEFAULT true",
    ]


_SELECT_BATCH = ", ".join(
    f"CAST({c.name} AS {c.duckdb})" if c.duckdb.startswith("DECIMAL") else c.name for c in COLUMNS
)


class DuckDBStore:
    dialect = "duckdb"
    shared = False  # one process owns the file

    def __init__(self, path: Path, *, threads: int | None = None, memory_limit: str | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "checkpoint_threshold": WAL_CHECKPOINT,
            "allocator_background_threads": True,
        }
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            self._db = duckdb.connect(str(path), config=config)
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc):  # not, say, a damaged block
                raise
            raise InUse(f"{path} is held by another process ({exc})") from None
        self._local = threading.local()
        self.derived_tables: set[str] = set()
        self._checkpoint_rows = {checkpoint_key(LOCAL_SOURCE)}
        for statement in _schema():
            self._db.execute(statement)

    def create_derived(self, name: str, ddl: str) -> None:
        """Create a table the writer fills alongside events (visits, identity links)."""
        self._db.execute(ddl)
        self.derived_tables.add(name)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections are not shared between threads)."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._db.cursor()
            self._local.cursor = cursor
        return cursor

    def loaded_seq(self, source: str = LOCAL_SOURCE) -> int:
        # fetchall, not fetchone: a half-read result keeps a DuckDB cursor busy.
        rows = (
            self.cursor()
            .execute("SELECT value FROM meta WHERE key = ?", [checkpoint_key(source)])
            .fetchall()
        )
        return int(rows[0][0]) if rows else 0

    def fingerprints(self) -> npt.NDArray[np.uint64]:
        result = self.cursor().execute("SELECT event_fp FROM events").fetchnumpy()
        return np.asarray(result["event_fp"], dtype=np.uint64)

    def ids_of(self, events: Sequence[tuple[int, int, int]]) -> set[tuple[int, str]]:
        if not events:
            return set()
        fingerprints = sorted({fp for _, _, fp in events})
        rows = (
            self.cursor()
            .execute(
                "SELECT site_id, event_id FROM events WHERE event_fp IN (SELECT unnest(?))",
                [list(fingerprints)],
            )
            .fetchall()
        )
        return {(int(site_id), event_id) for site_id, event_id in rows}

    def orders(self, keys: Sequence[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
        rows = self._of_orders(
            keys,
            "SELECT o.site_id, o.name, o.order_id, o.origin, o.money, o.person FROM orders o"
            " JOIN wanted_orders w USING (site_id, name, order_id)",
        )
        return {(int(r[0]), r[1], r[2]): rank(r[3], bool(r[4]), bool(r[5])) for r in rows}

    def all_orders(self) -> Iterator[tuple[int, str, str, int]]:
        rows = self.cursor().execute(
            "SELECT site_id, name, order_id, origin, money, person FROM orders"
        )
        for site_id, name, order_id, origin, money, person in rows.fetchall():
            yield int(site_id), name, order_id, rank(origin, bool(money), bool(person))

    def order_props(
        self, keys: Sequence[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], list[StoredCopy]]:
        rows = self._of_orders(
            keys,
            "SELECT e.site_id, e.name, e.order_id, e.origin, e.revenue_amount IS NOT NULL,"
            " e.user_id IS NOT NULL OR e.visitor_id IS NOT NULL, e.event_id, epoch_us(e.time),"
            " e.props FROM events e JOIN wanted_orders w USING (site_id, name, order_id)",
        )
        found: dict[tuple[int, str, str], list[StoredCopy]] = {}
        for site_id, name, order_id, origin, money, person, event_id, time_us, props in rows:
            copy_rank = rank(origin, bool(money), bool(person))
            copy = StoredCopy(copy_rank, event_id, int(time_us), props or {})
            found.setdefault((int(site_id), name, order_id), []).append(copy)
        return found

    def _of_orders(self, keys: Sequence[tuple[int, str, str]], sql: str) -> list[tuple[Any, ...]]:
        """The rows of `sql`, which joins the orders `keys` name as the table `wanted_orders`."""
        if not keys:
            return []
        wanted = pa.table(
            {
                "site_id": pa.array([k[0] for k in keys], pa.int32()),
                "name": pa.array([k[1] for k in keys], pa.string()),
                "order_id": pa.array([k[2] for k in keys], pa.string()),
            }
        )
        cursor = self.cursor()
        cursor.register("wanted_orders", wanted)
        try:
            return cursor.execute(sql).fetchall()
        finally:
            cursor.unregister("wanted_orders")

    def write(
        self,
        events: pa.Table,
        *,
        seq: int,
        superseded: Sequence[tuple[int, str, str]],
        derived: Mapping[str, pa.Table] | None = None,
        source: str = LOCAL_SOURCE,
        replaced: Sequence[tuple[int, str, str]] = (),
        keep: bool = True,
        amended: Sequence[AmendedCopy] = (),
    ) -> None:
        """One transaction; with `keep` false the same statements, rolled back."""
        key = checkpoint_key(source)
        cursor = self.cursor()
        if key not in self._checkpoint_rows:
            cursor.execute("INSERT INTO meta VALUES (?, 0) ON CONFLICT DO NOTHING", [key])
            self._checkpoint_rows.add(key)
        cursor.register("batch", events)
        try:
            cursor.execute("BEGIN TRANSACTION")
            for site_id, name, order_id in superseded:
                cursor.execute(
                    "DELETE FROM events WHERE site_id = ? AND name = ? AND order_id = ?"
                    " AND origin = 'browser'",
                    [site_id, name, order_id],
                )
            # The `orders` row of a replaced order is replaced below, with the new copy's.
            copies = ("events", "actions") if "actions" in self.derived_tables else ("events",)
            for site_id, name, order_id in replaced:
                for table in copies:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE site_id = ? AND name = ? AND order_id = ?",
                        [site_id, name, order_id],
                    )
            # The copy kept is the only one of its order in `events`; `actions` may keep a
            # superseded browser copy beside it, hence the event id. Rows are appended in about
            # the order of their time, which the time's zone maps turn into a short scan.
            for copy in amended:
                for table in copies:
                    cursor.execute(
                        f"UPDATE {table} SET props = map(?::VARCHAR[], ?::VARCHAR[])"
                        " WHERE site_id = ? AND time = make_timestamp(?) AND name = ?"
                        " AND event_id = ?",
                        [
                            list(copy.props),
                            list(copy.props.values()),
                            copy.site_id,
                            copy.time_us,
                            copy.name,
                            copy.event_id,
                        ],
                    )
            # Each statement has a fixed cost of a millisecond or more: skip those with no rows.
            if events.num_rows:
                cursor.execute(
                    f"INSERT INTO events ({', '.join(NAMES)}) SELECT {_SELECT_BATCH} FROM batch"
                )
            if events.column("order_id").null_count < events.num_rows:
                cursor.execute(
                    "INSERT OR REPLACE INTO orders"
                    " (site_id, name, order_id, origin, event_id, money, person)"
                    " SELECT site_id, name, order_id, origin, event_id, revenue_amount IS NOT NULL,"
                    " user_id IS NOT NULL OR visitor_id IS NOT NULL"
                    " FROM batch WHERE order_id IS NOT NULL"
                )
            for table_name, rows in (derived or {}).items():
                if table_name not in self.derived_tables:
                    raise ValueError(f"no derived table {table_name}")
                if rows.num_rows == 0:
                    continue
                cursor.register("derived_rows", rows)
                try:
                    # The name was checked against the tables this store created.
                    cursor.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM derived_rows")
                finally:
                    cursor.unregister("derived_rows")
            cursor.execute("UPDATE meta SET value = ? WHERE key = ?", [seq, key])
            cursor.execute("COMMIT" if keep else "ROLLBACK")
        except BaseException:
            # A COMMIT that failed (a full disk) has ended the transaction: the ROLLBACK's "no
            # transaction is active" would hide the commit's error, which is the one to report.
            with contextlib.suppress(duckdb.TransactionException):
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.unregister("batch")

    def remove_site(self, site_id: int) -> dict[str, int]:
        """Delete every row of a site, from every table with a `site_id` column (events, orders
        and each derived table, whatever the schema holds), in one transaction; the rows
        deleted, by table, with `visits` counting visits rather than their stored states. Run
        on the writer thread (`store/site_removal.py`)."""
        cursor = self.cursor()
        tables = [
            str(row[0])
            for row in cursor.execute(
                "SELECT DISTINCT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t"
                " ON t.database_name = c.database_name AND t.schema_name = c.schema_name"
                " AND t.table_name = c.table_name WHERE c.column_name = 'site_id'"
                " AND t.database_name = current_database() AND NOT t.temporary"
                " ORDER BY c.table_name"
            ).fetchall()
        ]
        deleted: dict[str, int] = {}
        cursor.execute("BEGIN TRANSACTION")
        try:
            for table in tables:
                if table == "visits":
                    # A visit is stored as states that cancel each other: count visits.
                    ((visits,),) = cursor.execute(
                        "SELECT count(DISTINCT visit_id) FROM visits WHERE site_id = ?", [site_id]
                    ).fetchall()
                # Names from DuckDB's own catalogue, never from input.
                ((rows,),) = cursor.execute(
                    f'DELETE FROM "{table}" WHERE site_id = ?', [site_id]
                ).fetchall()
                deleted[table] = int(visits if table == "visits" else rows)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return deleted

    def settle(self) -> None:
        """Fold the write-ahead log into the file (the writer calls this when it falls idle)."""
        wal = wal_path(self.path)
        if wal.exists() and wal.stat().st_size > 0:
            self.cursor().execute("CHECKPOINT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with QUERY_SECONDS.time():
            return self.cursor().execute(sql, list(params)).fetchall()

    def close(self) -> None:
        self._db.close()
