"""The scale-out event store: the same tables and queries on ClickHouse (a server, or chDB).

ClickHouse has no transaction across tables, so a load is made exact in three steps. The rows of
every table are inserted with the loader's name and the load's sequence number (`schema.py`);
then a `meta` row records that sequence as loaded — the commit. Before the next load after any
failure, and when the store opens, rows of this loader above the committed sequence are deleted
(a load that failed half-way, or that succeeded while its answer was lost). A commit whose
answer was lost and that is found done is taken back (a newer `meta` version with the previous
sequence) before its rows go, because the writer will send those records again. So a replay of
the same records never doubles anything, and a load is either whole or gone.

Several loaders (collector processes, each with its own intake log) may share one database:
each undoes only its own rows. Reads go through `execute` with the query layer's `?`
parameters. Nothing here decides what to store: that is the writer's and the deriver's job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from clycyo import order_copies
from clycyo.observability import QUERY_SECONDS
from clycyo.store.base import LOCAL_SOURCE, AmendedCopy, StoredCopy
from clycyo.store.clickhouse import maintenance, schema
from clycyo.store.clickhouse.binding import bind, rows
from clycyo.store.clickhouse.transport import Transport

_SEQ_PREFIX = "intake_seq:"
# Tables a load writes, in order; `meta` (the commit) comes after all of them.
_DATA_TABLES = tuple(name for name in schema.LAYOUTS if name != "meta")
# The tables that hold a copy of an order, or its row.
_COPIES = ("events", "actions", "orders")
# A stored copy's rank (`order_copies.rank`), from its `orders` row.
_RANK = "if(money != 0, 4, 0) + if(origin = 'server', 2, 0) + (person != 0)"


@dataclass
class _Log:
    """How far one intake log is loaded, as this process knows it."""

    loader: str  # the value of the rows' `loader` column
    committed: int = 0
    version: int = 0
    dirty: bool = True  # rows above `committed` may exist: undo before the next load


class ClickHouseStore:
    dialect = "clickhouse"
    shared = True  # several collectors load into one database

    def __init__(
        self, transport: Transport, *, loader: str = "main", cluster: str | None = None
    ) -> None:
        self.transport = transport
        self.loader = loader
        self.cluster = cluster  # the tables are a cluster's (schema.ddl); None: one server
        self.derived_tables: set[str] = set()
        self._logs: dict[str, _Log] = {}
        self._lock = threading.RLock()  # loads and their undo, against jobs on other threads
        self._failed = False  # a load failed and its rows may still be there
        schema.migrate(self)
        patched = schema.patched(self)
        self.patchable = set(schema.AMENDED_TABLES) <= patched  # lightweight `UPDATE`s: `_amend`
        # The tables whose deletes are lightweight updates of the row mask (see `delete`);
        # emptied, every delete is a mutation again (as `bench/replace_chdb.py` compares).
        self.light_deletes = schema.light_deletes(self, patched)
        self._log(LOCAL_SOURCE)  # what a previous process left half-done is undone first

    # Statements

    def command(self, sql: str, params: Sequence[Any] = ()) -> None:
        text, bound = bind(sql, params)
        self.transport.command(text, bound)

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        """Delete rows of one of the schema's tables (on a cluster: on every shard). Where the
        table takes lightweight updates, the delete is one: a patch part that masks the rows,
        cheap as a small insert, which every read applies at once and merges fold in. Otherwise
        it is a mutation that rewrites the row mask of every part it matches, and waits for it."""
        light = table in self.light_deletes
        self.command(schema.delete(table, where, self.cluster, light=light), params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._undo_failed()
        with QUERY_SECONDS.time():
            return self._read(sql, params)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text, bound = bind(sql, params)
        return rows(self.transport.query_arrow(text, bound))

    def arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """A read answered as Arrow, for bulk reads (export, migration checks)."""
        text, bound = bind(sql, params)
        return self.transport.query_arrow(text, bound)

    def create_derived(self, name: str, ddl: str) -> None:
        """Register a table the writer fills alongside events (migrations created it)."""
        self.transport.command(ddl)
        self.derived_tables.add(name)

    # What the writer reads

    def _log(self, source: str) -> _Log:
        """The state of intake log `source`, read (and its half-done load undone) on first use."""
        with self._lock:
            found = self._logs.get(source)
            if found is None:
                name = self.loader if source == LOCAL_SOURCE else f"{self.loader}/{source}"
                found = _Log(name)
                found.committed, found.version = self._read_commit(found)
                self._undo(found)
                self._logs[source] = found
            return found

    def _read_commit(self, log: _Log) -> tuple[int, int]:
        found = self._read(
            "SELECT argMax(value, version), max(version), count() FROM meta WHERE key = ?",
            [_SEQ_PREFIX + log.loader],
        )
        value, version, present = found[0] if found else (0, 0, 0)
        return (int(value), int(version)) if present else (0, 0)

    def loaded_seq(self, source: str = LOCAL_SOURCE) -> int:
        return self._log(source).committed

    def fingerprints(self) -> npt.NDArray[np.uint64]:
        table = self.arrow("SELECT event_fp FROM events")
        if table.num_columns == 0:
            return np.zeros(0, dtype=np.uint64)
        return np.asarray(table.column(0).to_numpy(), dtype=np.uint64)

    def orders(self, keys: Sequence[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
        if not keys:
            return {}
        # The writer asks before it loads: rows of a failed load must not answer for orders
        # that load will send again.
        self._undo_failed()
        wanted = ", ".join("(?, ?, ?)" for _ in keys)
        found = self.execute(
            f"SELECT site_id, name, order_id, max({_RANK}) FROM orders"
            f" WHERE (site_id, name, order_id) IN ({wanted}) GROUP BY site_id, name, order_id",
            [value for key in keys for value in key],
        )
        return {(int(s), n, o): int(rank) for s, n, o, rank in found}

    def ids_of(self, events: Sequence[tuple[int, int, int]]) -> set[tuple[int, str]]:
        """Asked per site for the events' days and the day either side (a retry's corrected
        time can cross midnight), which the ordering key and a bloom-filter index on
        `event_fp` narrow to a few granules."""
        if not events:
            return set()
        self._undo_failed()
        days: dict[int, set[dt.date]] = {}
        for site_id, time_us, _ in events:
            day = dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).date()
            days.setdefault(site_id, set()).update(day + dt.timedelta(days=d) for d in (-1, 0, 1))
        fingerprints = sorted({fp for _, _, fp in events})
        found: set[tuple[int, str]] = set()
        for site_id, dates in days.items():
            rows = self._read(
                "SELECT DISTINCT event_id FROM events WHERE site_id = ? AND toDate(time) IN ?"
                " AND event_fp IN ?",
                [site_id, sorted(dates), fingerprints],
            )
            found.update((site_id, row[0]) for row in rows)
        return found

    def all_orders(self) -> Iterator[tuple[int, str, str, int]]:
        for site_id, name, order_id, rank in self.execute(
            f"SELECT site_id, name, order_id, max({_RANK}) FROM orders"
            " GROUP BY site_id, name, order_id"
        ):
            yield int(site_id), name, order_id, int(rank)

    def order_props(
        self, keys: Sequence[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], list[StoredCopy]]:
        if not keys:
            return {}
        wanted = ", ".join("(?, ?, ?)" for _ in keys)
        found: dict[tuple[int, str, str], list[StoredCopy]] = {}
        for row in self.execute(
            "SELECT site_id, name, order_id, origin, revenue_amount IS NOT NULL,"
            " user_id IS NOT NULL OR visitor_id IS NOT NULL, event_id,"
            " toUnixTimestamp64Micro(time), props FROM events"
            f" WHERE (site_id, name, order_id) IN ({wanted})",
            [value for key in keys for value in key],
        ):
            site_id, name, order_id, origin, money, person, event_id, time_us, props = row
            copy_rank = order_copies.rank(origin, bool(money), bool(person))
            copy = StoredCopy(copy_rank, event_id, int(time_us), props or {})
            found.setdefault((int(site_id), name, order_id), []).append(copy)
        return found

    # Loading

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
        if not keep:
            # `replaced` and `amended` are not rehearsed: a delete or an update of props
            # refuses no value, and neither could be undone.
            replaced, amended = (), ()
        tables = self._tables(events, superseded, derived)
        self.load(source, seq, tables, keep=keep, replaced=replaced, amended=amended)

    def _tables(
        self,
        events: pa.Table,
        superseded: Sequence[tuple[int, str, str]],
        derived: Mapping[str, pa.Table] | None,
    ) -> list[tuple[str, pa.Table]]:
        # `superseded` needs no delete here: a browser copy of an order is left out by every
        # read wherever a server copy exists (query/builder.SUPERSEDED), as it is in `actions`.
        del superseded
        tables: list[tuple[str, pa.Table]] = [("events", events), ("orders", _orders(events))]
        for name, table in (derived or {}).items():
            if name not in self.derived_tables:
                raise ValueError(f"no derived table {name}")
            tables.append((name, table))
        return tables

    def load(
        self,
        source: str,
        seq: int,
        tables: Sequence[tuple[str, pa.Table]],
        *,
        keep: bool = True,
        replaced: Sequence[tuple[int, str, str]] = (),
        amended: Sequence[AmendedCopy] = (),
    ) -> None:
        """Insert the tables' rows as one load of log `source` that reaches `seq`: the load is
        whole once this returns, and undone before anything else if it raises. With `keep`
        false the rows are inserted and deleted again, uncommitted (a rehearsal). The rows of
        `replaced` orders that other loads stored are deleted after the inserts and before the
        commit: a load that fails before the delete leaves them, and one that fails after it
        is sent again and finds no copy to replace. The `amended` copies get their props at the
        same point; an undone load leaves them, and its replay sets the same props again."""
        with self._lock:
            self._undo_failed()
            log = self._log(source)
            log.dirty = True
            attempt = uuid.uuid4().hex[:12]
            try:
                for name, table in tables:
                    if table.num_rows:
                        self._insert(log, name, table, seq, attempt)
                if keep:
                    self._delete_replaced(log, seq, replaced)
                    self._amend(amended)
                    self._commit(log, seq)
            except Exception:
                self._failed = True
                with contextlib.suppress(Exception):  # else before the next read or load
                    self._undo_failed()
                raise
            if not keep:
                # Rows above the committed sequence are what a failed load leaves: undone so.
                self._failed = True
                self._undo_failed()
                return
            log.dirty = False

    def _delete_replaced(
        self, log: _Log, seq: int, replaced: Sequence[tuple[int, str, str]]
    ) -> None:
        """Delete every stored copy of the `replaced` orders but this load's own."""
        if not replaced:
            return
        wanted = ", ".join("(?, ?, ?)" for _ in replaced)
        keys = [value for key in replaced for value in key]
        for table in _COPIES:
            self.delete(
                table,
                f"(site_id, name, coalesce(order_id, '')) IN ({wanted})"
                " AND NOT (loader = ? AND load_seq = ?)",
                [*keys, log.loader, seq],
            )

    def _amend(self, amended: Sequence[AmendedCopy]) -> None:
        """Set the props of the `amended` copies, in `events` and `actions`, by a lightweight
        `UPDATE` per table: a patch part of those rows, cheap as a small insert and read at once.
        `ALTER TABLE … UPDATE` (only where the server has no lightweight updates) is a mutation
        that rewrites whole parts, and such copies are routine (every subscription's
        `invoice.paid` after its Checkout Session's copy). Setting the same props twice changes
        nothing, and the rows keep their `loader` and `load_seq`, so a load undone after this
        and sent again leaves what it would have."""
        if not amended:
            return
        props = ", ".join("site_id = ? AND event_id = ?, mapFromArrays(?, ?)" for _ in amended)
        rows = " OR ".join(
            "(site_id = ? AND time = fromUnixTimestamp64Micro(?, 'UTC') AND name = ?"
            " AND event_id = ?)"
            for _ in amended
        )
        params: list[Any] = []
        for copy in amended:
            params += [copy.site_id, copy.event_id, list(copy.props), list(copy.props.values())]
        for copy in amended:
            # The time as a number: a DateTime64 parameter of a mutation loses its text form.
            params += [copy.site_id, copy.time_us, copy.name, copy.event_id]
        # `events` last: a load sent again finds what to amend there (`order_props`), so
        # `actions` must be amended once `events` is. `orders` holds no props.
        for table in ("actions", "events"):
            target = schema.local_table(table, self.cluster)
            if self.patchable:
                sql = f"UPDATE {target} SET props = multiIf({props}, props) WHERE {rows}"
            else:
                sql = f"ALTER TABLE {target} UPDATE props = multiIf({props}, props) WHERE {rows}"
            self.command(sql, params)

    def advance(self, source: str, seq: int) -> None:
        """Record log `source` as loaded up to `seq` (never backwards), with no rows."""
        with self._lock:
            log = self._log(source)
            if seq > log.committed:
                self._commit(log, seq)

    def _undo_failed(self) -> None:
        """Undo what failed loads left, before anything reads or loads (any thread)."""
        if not self._failed:
            return
        with self._lock:
            for log in self._logs.values():
                if log.dirty:
                    self._undo(log)
            self._failed = False

    def _insert(self, log: _Log, name: str, table: pa.Table, seq: int, attempt: str) -> None:
        for column, _ in schema.BOOKKEEPING:
            if column in table.column_names:
                table = table.drop_columns([column])
        table = table.append_column("loader", pa.array([log.loader] * table.num_rows, pa.string()))
        table = table.append_column("load_seq", pa.array([seq] * table.num_rows, pa.uint64()))
        if "revenue_amount" in table.column_names:
            index = table.column_names.index("revenue_amount")
            amounts = pc.cast(table.column(index), pa.decimal128(18, 6))
            table = table.set_column(index, "revenue_amount", amounts)
        # The token makes a retried delivery of this very insert (by a driver or a Distributed
        # table) count once; a new attempt after an undo carries a new one.
        token = f"{log.loader}:{seq}:{attempt}:{name}"
        settings: dict[str, str | int] = {"insert_deduplication_token": token}
        if self.cluster:
            settings["insert_distributed_sync"] = 1  # on the shards before the commit
        self.transport.insert_arrow(name, table, settings)

    def _commit(self, log: _Log, seq: int) -> None:
        version = log.version + 1
        try:
            self.command(
                "INSERT INTO meta (key, value, version) VALUES (?, ?, ?)",
                [_SEQ_PREFIX + log.loader, seq, version],
            )
        except Exception:
            log.version = version  # it may have been stored: never reuse the number
            raise
        log.committed, log.version = seq, version

    def _undo(self, log: _Log) -> None:
        """Delete the log's rows of loads not (or no longer) committed."""
        stored, version = self._read_commit(log)
        log.version = max(log.version, version)
        if stored > log.committed:
            # A commit that was stored although its answer was lost: take it back, since the
            # writer holds those records as not loaded and will send them again.
            self._commit(log, log.committed)
        mine = [log.loader, log.committed]
        # One read finds the tables with rows to undo; a delete costs a scan (and, where it is
        # a mutation, a visit of every part) even when it matches nothing. Table names come from
        # the schema.
        counts = self._read(
            " UNION ALL ".join(
                f"SELECT '{table}', count() FROM {table} WHERE loader = ? AND load_seq > ?"
                for table in _DATA_TABLES
            ),
            mine * len(_DATA_TABLES),
        )
        for table, count in counts:
            if count:
                self.delete(str(table), "loader = ? AND load_seq > ?", mine)
        log.dirty = False

    # Jobs the writer runs between loads (see maintenance.py)

    def erase_rows(
        self, site_id: int, event_ids: list[str], visit_ids: list[int], user_id: str | None
    ) -> tuple[int, int, int]:
        with self._lock:
            return maintenance.erase_rows(self, site_id, event_ids, visit_ids, user_id)

    def trim(self, site_id: int, before_us: int) -> int:
        with self._lock:
            return maintenance.trim(self, site_id, before_us)

    def compact_visits(self) -> int:
        with self._lock:
            return maintenance.compact_visits(self)

    def remove_site(self, site_id: int) -> dict[str, int]:
        with self._lock:
            return maintenance.remove_site(self, site_id)

    def settle(self) -> None:
        """Nothing to tidy: ClickHouse merges parts in the background."""

    def close(self) -> None:
        self.transport.close()


def _orders(events: pa.Table) -> pa.Table:
    """One `orders` row per event with an order id: what ranks the copy stored."""
    if events.num_rows == 0 or events.column("order_id").null_count == events.num_rows:
        return pa.table({"order_id": pa.array([], pa.string())})
    kept = events.filter(pc.is_valid(events.column("order_id")))
    money = pc.cast(pc.is_valid(kept.column("revenue_amount")), pa.uint8())
    person = pc.or_(pc.is_valid(kept.column("user_id")), pc.is_valid(kept.column("visitor_id")))
    return (
        kept.select(["site_id", "name", "order_id", "origin", "event_id"])
        .append_column("money", money)
        .append_column("person", pc.cast(person, pa.uint8()))
    )
