"""The ClickHouse tables: engines, partitions, sort keys, and the migrations that create them.

Columns come from the lists both engines share (`store/columns.py`, `identity/schema.py`); this
module adds what only ClickHouse needs. Every table gets two bookkeeping columns, `loader` (the
intake log that loaded the row) and `load_seq` (that log's sequence number of the load): ClickHouse
has no multi-statement transactions, so a load that failed half-way is undone by deleting its
rows (`store.py`). That is also why only `events` and `actions` collapse in merges (the same
`event_fp` is one event): a collapsing or summing engine could fold a committed visit state with
the cancelling row of a load that is then undone, and the state would be lost. Visits are
therefore plain rows with a `sign`, read as live states (`identity/persons.py`), and the cancelled
pairs are deleted by compaction as on DuckDB.

Every table syncs what an insert writes before the insert returns (`DURABLE`): a collector deletes
a segment of its intake log once ClickHouse has committed every record in it, and by default
MergeTree leaves a new part in the page cache, where a power cut would lose it. Tables made
before this got the settings on open (`missing_settings`). Every table but `meta` also carries
each row's block number and offset (`PATCHABLE`), which ClickHouse's lightweight `UPDATE` needs:
the store sets a stored order copy's props with it, and deletes rows by a lightweight update of
their row mask (`patched` and `light_deletes` say where the server can).

`ddl(name, cluster)` writes the same tables for a cluster: Replicated engines `ON CLUSTER`, and a
`Distributed` table over each, sharded by the visitor bits of the visit id so a device's events
and visits meet on one shard. Nothing here runs SQL except `migrate`, `patched` and
`light_deletes`.
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

from clycyo.identity.schema import TABLES
from clycyo.store.clickhouse.transport import TransportError
from clycyo.store.columns import COLUMNS

BOOKKEEPING = (("loader", "LowCardinality(String)"), ("load_seq", "UInt64"))
DURABLE = {"fsync_after_insert": 1, "fsync_part_directory": 1}  # MergeTree's, off by default
_DURABLE_SQL = ", ".join(f"{name} = {value}" for name, value in DURABLE.items())
# What a lightweight `UPDATE` (patch parts, ClickHouse 25.7 and later) needs of a table.
PATCHABLE = {"enable_block_number_column": 1, "enable_block_offset_column": 1}
# The tables whose stored copies of orders take a later copy's props (`ClickHouseStore._amend`).
AMENDED_TABLES = ("events", "actions")
# A `DELETE` done as a lightweight update of the row mask (a patch part) where the table takes
# them, and as a mutation of the mask where it does not.
LIGHT_DELETE = "lightweight_delete_mode = 'lightweight_update'"


class Layout(NamedTuple):
    engine: str  # MergeTree family name, without "Replicated"
    arguments: str  # the engine's arguments (version column, …)
    partition: str | None
    order: str
    shard_key: str | None  # None: the table is small and every shard keeps all of it
    skip_index: str | None = None  # a data-skipping index, as its DDL line


_BY_VISITOR = "bitShiftRight(coalesce(visit_id, 0), 24)"
_EVENTS = Layout(
    "ReplacingMergeTree",
    "",
    "toYYYYMM(time)",
    "(site_id, toDate(time), name, event_fp)",
    _BY_VISITOR,
)
LAYOUTS: dict[str, Layout] = {
    # Finding event ids already stored (by another collector) reads a few granules of a day.
    "events": _EVENTS._replace(skip_index="INDEX event_fp_bloom event_fp TYPE bloom_filter(0.01)"),
    "actions": _EVENTS,
    "orders": Layout("MergeTree", "", None, "(site_id, name, order_id)", None),
    # The version orders commits: a later row may take a commit back (see store.py).
    "meta": Layout("ReplacingMergeTree", "version", None, "key", None),
    "visits": Layout(
        "MergeTree",
        "",
        "toYYYYMM(started_at)",
        "(site_id, toDate(started_at), visit_id)",
        _BY_VISITOR,
    ),
    "identities": Layout("MergeTree", "", None, "(site_id, visitor_key, linked_at)", None),
    "vitals": Layout("MergeTree", "", "toYYYYMM(time)", "(site_id, metric, time)", _BY_VISITOR),
    "vital_hours": Layout(
        "MergeTree", "", "toYYYYMM(hour)", "(site_id, metric, hour, bucket)", "site_id"
    ),
    "pageviews": Layout("MergeTree", "", "toYYYYMM(time)", "(site_id, time)", _BY_VISITOR),
    "engagements": Layout("MergeTree", "", "toYYYYMM(time)", "(site_id, time)", _BY_VISITOR),
}
# Every table rows are deleted from (loads undone, replaced copies of orders, erasure, retention,
# a site's removal, compaction): `meta` only grows.
PATCHED_TABLES = tuple(name for name in LAYOUTS if name != "meta")
_OWN_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "events": tuple((c.name, c.clickhouse) for c in COLUMNS),
    "orders": (
        ("site_id", "UInt32"),
        ("name", "LowCardinality(String)"),
        ("order_id", "String"),
        ("origin", "LowCardinality(String)"),
        ("event_id", "String"),
        # Whether the copy carries money (`order_copies`); rows from before the column were
        # money events as a rule.
        ("money", "UInt8 DEFAULT 1"),
        # Whether it names a person (a user id or a visitor id); rows from before the column
        # count as naming one, so a copy that names a person never replaces them.
        ("person", "UInt8 DEFAULT 1"),
    ),
    "meta": (("key", "String"), ("value", "UInt64"), ("version", "UInt64")),
}


def columns(name: str) -> tuple[tuple[str, str], ...]:
    """(name, ClickHouse type) of a table's columns, bookkeeping last."""
    found = _OWN_COLUMNS.get(name)
    if found is None:
        found = tuple((c.name, c.clickhouse) for c in TABLES[name])
    return found if name == "meta" else (*found, *BOOKKEEPING)


def ddl(name: str, cluster: str | None = None, database: str = "clycyo") -> list[str]:
    """The statements that create table `name` (on a cluster: local, then Distributed)."""
    layout = LAYOUTS[name]
    lines = [f"{column} {kind}" for column, kind in columns(name)]
    body = ",\n    ".join([*lines, *([layout.skip_index] if layout.skip_index else [])])
    partition = f" PARTITION BY {layout.partition}" if layout.partition else ""
    tail = f"{partition} ORDER BY {layout.order} SETTINGS {_DURABLE_SQL}"
    if cluster is None:
        engine = f"{layout.engine}({layout.arguments})"
        return [f"CREATE TABLE IF NOT EXISTS {name} (\n    {body}\n) ENGINE = {engine}{tail}"]
    # Small tables are replicated whole to every shard (no {shard} in their path).
    shard = "{shard}/" if layout.shard_key else ""
    path = f"'/clickhouse/tables/{shard}{database}/{name}', '{{replica}}'"
    arguments = f"{path}, {layout.arguments}" if layout.arguments else path
    local = local_name(name, cluster)
    statements = [
        f"CREATE TABLE IF NOT EXISTS {local} ON CLUSTER {cluster} (\n    {body}\n)"
        f" ENGINE = Replicated{layout.engine}({arguments}){tail}"
    ]
    if layout.shard_key:
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER {cluster} AS {local}"
            f" ENGINE = Distributed({cluster}, {database}, {local}, {layout.shard_key})"
        )
    return statements


def local_table(name: str, cluster: str | None) -> str:
    """Where statements that change rows go: a sharded table's local tables on every node."""
    if cluster is None:
        return name
    return f"{local_name(name, cluster)} ON CLUSTER {cluster}"


def delete(name: str, where: str, cluster: str | None, *, light: bool) -> str:
    """The `DELETE` of table `name`'s rows that match `where` (on a cluster: of its local tables
    on every node); `light`: by a patch part of the row mask, not a mutation of it. The setting
    is the statement's own, not the session's: a cluster's DDL queue hands each node the
    statement's text, `SETTINGS` clause and all."""
    sql = f"DELETE FROM {local_table(name, cluster)} WHERE {where}"
    return f"{sql} SETTINGS {LIGHT_DELETE}" if light else sql


def local_name(name: str, cluster: str | None) -> str:
    """The name of the table that holds a table's rows on each node."""
    return f"{name}_local" if cluster is not None and LAYOUTS[name].shard_key else name


# Numbered steps; a store applies those above the version `meta` records. Step 1 creates the
# tables, step 2 `engagements` on a store made before it (filled from the events when the store
# opens, `identity/backfill.py`); columns added to the shared lists later are added by
# `missing_columns` on open.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, tuple(LAYOUTS)),
    (2, ("engagements",)),
)


def missing_columns(name: str, present: set[str], cluster: str | None = None) -> list[str]:
    """`ALTER TABLE` statements that add the columns a table lacks, each after its predecessor
    (on a cluster: to the local tables, then to the Distributed one)."""
    targets = [local_table(name, cluster)]
    if cluster and LAYOUTS[name].shard_key:
        targets.append(f"{name} ON CLUSTER {cluster}")
    statements = []
    previous: str | None = None
    for column, kind in columns(name):
        if column not in present:
            where = f" AFTER {previous}" if previous else " FIRST"
            statements += [
                f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {column} {kind}{where}"
                for target in targets
            ]
        previous = column
    return statements


def missing_settings(name: str, engine_full: str, cluster: str | None = None) -> list[str]:
    """The `ALTER TABLE` that gives a table made before `DURABLE` its settings, given its
    `system.tables.engine_full` (on a cluster: the local tables)."""
    if has_settings(engine_full, DURABLE):
        return []
    return [f"ALTER TABLE {local_table(name, cluster)} MODIFY SETTING {_DURABLE_SQL}"]


def has_settings(engine_full: str, settings: dict[str, int]) -> bool:
    """Whether a table's `system.tables.engine_full` holds these settings."""
    return all(f"{setting} = {value}" in engine_full for setting, value in settings.items())


def missing_patchable(name: str, engine_full: str, cluster: str | None = None) -> list[str]:
    """The `ALTER TABLE` that lets lightweight `UPDATE`s patch a table of `PATCHED_TABLES`
    (its rows then carry their block number and offset; parts made before get them as they
    are merged or patched)."""
    if name not in PATCHED_TABLES or has_settings(engine_full, PATCHABLE):
        return []
    settings = ", ".join(f"{setting} = {value}" for setting, value in PATCHABLE.items())
    return [f"ALTER TABLE {local_table(name, cluster)} MODIFY SETTING {settings}"]


def patched(store: Any) -> frozenset[str]:
    """The tables of `PATCHED_TABLES` that take lightweight `UPDATE`s, once `migrate` has tried
    to let them (a server older than 25.7 cannot)."""
    # The statement is beta in 25.8 and later (`enable_lightweight_update`, on by default),
    # experimental in 25.7 (`allow_experimental_lightweight_update`): both must be on if known.
    switches = store.execute(
        "SELECT value FROM system.settings WHERE name IN"
        " ('enable_lightweight_update', 'allow_experimental_lightweight_update')"
    )
    if not switches or not all(str(value) in ("1", "true") for (value,) in switches):
        return frozenset()
    engines = dict(
        store.execute(
            "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
        )
    )
    return frozenset(
        table
        for table in PATCHED_TABLES
        if has_settings(engines.get(local_name(table, store.cluster), ""), PATCHABLE)
    )


def patchable(store: Any) -> bool:
    """Whether the stored copies of orders take a later copy's props by lightweight `UPDATE`s."""
    return set(AMENDED_TABLES) <= patched(store)


def light_deletes(store: Any, tables: frozenset[str]) -> frozenset[str]:
    """Which of the `tables` that take lightweight updates may have their `DELETE`s done as one
    (`LIGHT_DELETE`): all of them where the server knows `lightweight_delete_mode`, none where
    it does not (it would refuse the statement)."""
    known = store.execute(
        "SELECT count() FROM system.settings WHERE name = 'lightweight_delete_mode'"
    )
    return tables if known and int(known[0][0]) else frozenset()


def migrate(store: Any) -> int:
    """Bring the store's tables up to date; returns the schema version reached."""
    cluster, database = store.cluster, store.transport.database
    for statement in ddl("meta", cluster, database):
        store.command(statement)
    rows = store.execute("SELECT max(value) FROM meta WHERE key = 'schema_version'")
    version = int(rows[0][0] or 0) if rows else 0
    for number, tables in MIGRATIONS:
        if number <= version:
            continue
        for table in tables:
            for statement in ddl(table, cluster, database):
                store.command(statement)
        store.command(
            "INSERT INTO meta (key, value, version) VALUES ('schema_version', ?, ?)",
            [number, number],
        )
        version = number
    existing: dict[str, set[str]] = {}
    for table, column in store.execute(
        "SELECT table, name FROM system.columns WHERE database = currentDatabase()"
    ):
        existing.setdefault(table, set()).add(column)
    for table in LAYOUTS:
        for statement in missing_columns(table, existing.get(table, set()), cluster):
            store.command(statement)
    engines = dict(
        store.execute(
            "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
        )
    )
    for table in LAYOUTS:
        engine_full = engines.get(local_name(table, cluster), "")
        for statement in missing_settings(table, engine_full, cluster):
            store.command(statement)
        for statement in missing_patchable(table, engine_full, cluster):
            # A server without lightweight updates refuses the settings: the store then amends
            # props by a mutation (`ClickHouseStore._amend`).
            with contextlib.suppress(TransportError):
                store.command(statement)
    return version


def main() -> None:
    """Print the DDL of every table: `python -m clycyo.store.clickhouse.schema [CLUSTER [DB]]`."""
    import sys

    cluster = sys.argv[1] if len(sys.argv) > 1 else None
    database = sys.argv[2] if len(sys.argv) > 2 else "clycyo"
    for table in LAYOUTS:
        for statement in ddl(table, cluster, database):
            print(statement + ";\n")


if __name__ == "__main__":
    main()
