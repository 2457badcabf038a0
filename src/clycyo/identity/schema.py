"""The derived tables' columns, once, with their type in each engine: `visits` and `identities`.

`visits` is append-only with a `sign`: a visit's state is a `+1` row; when the visit changes, the
writer appends a `-1` copy of the old state (same `state` number) and a `+1` row of the new one,
as ClickHouse's VersionedCollapsingMergeTree stores it. Sums weighted by `sign` are exact at any
moment; the live rows are the `+1` rows no `-1` row cancels (see `persons.live_visits`).
`identities` holds links of a visitor id to a user id, from `identify` events and from any event
that carries both. `vitals`, `pageviews`, `engagements` and `actions` are narrow copies of kinds
of events; `vital_hours` counts the vitals per hour. Retention trims them by their time columns
(`started_at`, `linked_at`, `time`), keeping whole the visits that go on after its cutoff, and
counts the trimmed hours of `vital_hours` again (`store/retention.py`). A narrow table added to
a store that already holds events is filled from them when the store opens (`backfill.py`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pyarrow as pa

from clycyo.store.base import EventStore
from clycyo.store.columns import COLUMNS as EVENT_COLUMNS


class Column(NamedTuple):
    name: str
    duckdb: str
    clickhouse: str
    arrow: Any


_S = pa.string()
_TS = pa.timestamp("us")
_LC = "LowCardinality(Nullable(String))"
_NS = "Nullable(String)"
_DT = "DateTime64(6, 'UTC')"

VISIT_COLUMNS: tuple[Column, ...] = (
    Column("visit_id", "UBIGINT NOT NULL", "UInt64", pa.uint64()),
    Column("state", "UINTEGER NOT NULL", "UInt32", pa.uint32()),
    Column("sign", "TINYINT NOT NULL", "Int8", pa.int8()),
    Column("site_id", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("visitor_id", "VARCHAR NOT NULL", "String", _S),
    Column("visitor_key", "UBIGINT NOT NULL", "UInt64", pa.uint64()),
    # Whose visit it is: the 40 bits of the user key the visitor was linked to at the start,
    # else of the visitor key. Restated whenever a new link changes it (see deriver.py).
    Column("person_bits", "UBIGINT NOT NULL", "UInt64", pa.uint64()),
    Column("user_id", "VARCHAR", _NS, _S),
    Column("session_id", "VARCHAR", _NS, _S),
    Column("started_at", "TIMESTAMP NOT NULL", _DT, _TS),
    Column("ended_at", "TIMESTAMP NOT NULL", _DT, _TS),
    Column("hostname", "VARCHAR", _LC, _S),
    Column("entry_page", "VARCHAR", _NS, _S),
    Column("exit_page", "VARCHAR", _NS, _S),
    Column("pageviews", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("events", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("interactions", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("engaged_ms", "BIGINT NOT NULL", "UInt64", pa.int64()),
    Column("duration_s", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("is_bounce", "TINYINT NOT NULL", "UInt8", pa.int8()),
    Column("source", "VARCHAR", _LC, _S),
    Column("channel", "VARCHAR", _LC, _S),
    Column("referrer_host", "VARCHAR", _NS, _S),
    Column("utm_source", "VARCHAR", _NS, _S),
    Column("utm_medium", "VARCHAR", _NS, _S),
    Column("utm_campaign", "VARCHAR", _NS, _S),
    Column("utm_term", "VARCHAR", _NS, _S),
    Column("utm_content", "VARCHAR", _NS, _S),
    Column("click_id", "VARCHAR", _LC, _S),
    Column("country", "VARCHAR", _LC, _S),
    Column("region", "VARCHAR", _LC, _S),
    Column("city", "VARCHAR", _NS, _S),
    Column("browser", "VARCHAR", _LC, _S),
    Column("os", "VARCHAR", _LC, _S),
    Column("device", "VARCHAR", _LC, _S),
)
VISIT_NAMES = tuple(c.name for c in VISIT_COLUMNS)
VISIT_SCHEMA = pa.schema([(c.name, c.arrow) for c in VISIT_COLUMNS])

IDENTITY_COLUMNS: tuple[Column, ...] = (
    Column("site_id", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("visitor_id", "VARCHAR NOT NULL", "String", _S),
    Column("visitor_key", "UBIGINT NOT NULL", "UInt64", pa.uint64()),
    Column("user_id", "VARCHAR NOT NULL", "String", _S),
    Column("user_key", "UBIGINT NOT NULL", "UInt64", pa.uint64()),
    Column("linked_at", "TIMESTAMP NOT NULL", _DT, _TS),
    Column("origin", "VARCHAR NOT NULL", "LowCardinality(String)", _S),
    Column("event_id", "VARCHAR NOT NULL", "String", _S),
)
IDENTITY_NAMES = tuple(c.name for c in IDENTITY_COLUMNS)
IDENTITY_SCHEMA = pa.schema([(c.name, c.arrow) for c in IDENTITY_COLUMNS])

# One row per web vital measured (a narrow copy of `web_vital` events): percentiles over
# millions of them would otherwise read every event's property map.
VITAL_COLUMNS: tuple[Column, ...] = (
    Column("site_id", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("time", "TIMESTAMP NOT NULL", _DT, _TS),
    Column("visit_id", "UBIGINT", "Nullable(UInt64)", pa.uint64()),
    Column("page", "VARCHAR", _NS, _S),
    Column("metric", "VARCHAR NOT NULL", "LowCardinality(String)", _S),
    Column("value", "DOUBLE NOT NULL", "Float64", pa.float64()),
)
VITAL_SCHEMA = pa.schema([(c.name, c.arrow) for c in VITAL_COLUMNS])
# Site-wide percentiles without reading every measurement: per hour and metric, how many values
# fell in each 1 %-wide logarithmic bucket (`vital_bucket`). Rows add up; compaction folds them.
VITAL_HOUR_COLUMNS: tuple[Column, ...] = (
    Column("site_id", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("hour", "TIMESTAMP NOT NULL", _DT, _TS),
    Column("metric", "VARCHAR NOT NULL", "LowCardinality(String)", _S),
    Column("bucket", "SMALLINT NOT NULL", "Int16", pa.int16()),
    Column("n", "BIGINT NOT NULL", "UInt64", pa.int64()),
)
VITAL_HOUR_SCHEMA = pa.schema([(c.name, c.arrow) for c in VITAL_HOUR_COLUMNS])

# Narrow copies of the two kinds of events queries read most, so they need not scan every event
# (two thirds of which are web vitals): each pageview, with its page as a number to group by,
# and every "action" — any event that is not a pageview, an engagement report or a web vital
# (custom events, identify, errors, clicks, server events, money) — with all its fields.
PAGEVIEW_COLUMNS: tuple[Column, ...] = (
    Column("site_id", "INTEGER NOT NULL", "UInt32", pa.int32()),
    Column("time", "TIMESTAMP NOT NULL", _DT, _TS),
    Column("visit_id", "UBIGINT", "Nullable(UInt64)", pa.uint64()),
    Column("page_key", "UBIGINT NOT NULL", "UInt64", pa.uint64()),
    Column("page", "VARCHAR", _NS, _S),
    Column("hostname", "VARCHAR", _LC, _S),
    # Constant here; present so that event expressions read the same on every table.
    Column("type", "VARCHAR NOT NULL", "LowCardinality(String)", _S),
    Column("name", "VARCHAR NOT NULL", "LowCardinality(String)", _S),
    Column("origin", "VARCHAR NOT NULL", "LowCardinality(String)", _S),
)
PAGEVIEW_SCHEMA = pa.schema([(c.name, c.arrow) for c in PAGEVIEW_COLUMNS])
# One row per engagement report (a narrow copy of `engagement` events), keyed as `pageviews` is,
# with its props as numbers: time on page and scroll depth would otherwise read each report's
# property map. A value that is no report (text that is no number, a depth outside 0 to 100, a
# negative or infinite time) is NULL; an engaged time counts for a day at most.
ENGAGEMENT_COLUMNS: tuple[Column, ...] = (
    *PAGEVIEW_COLUMNS,
    Column("scroll_depth", "DOUBLE", "Nullable(Float64)", pa.float64()),
    Column("engaged_ms", "DOUBLE", "Nullable(Float64)", pa.float64()),
)
ENGAGEMENT_SCHEMA = pa.schema([(c.name, c.arrow) for c in ENGAGEMENT_COLUMNS])
ACTION_COLUMNS: tuple[Column, ...] = tuple(
    Column(c.name, c.duckdb, c.clickhouse, c.arrow) for c in EVENT_COLUMNS
)

TABLES = {
    "visits": VISIT_COLUMNS,
    "identities": IDENTITY_COLUMNS,
    "vitals": VITAL_COLUMNS,
    "vital_hours": VITAL_HOUR_COLUMNS,
    "pageviews": PAGEVIEW_COLUMNS,
    "engagements": ENGAGEMENT_COLUMNS,
    "actions": ACTION_COLUMNS,
}


def duckdb_ddl(name: str) -> str:
    columns = ",\n    ".join(f"{c.name} {c.duckdb}" for c in TABLES[name])
    return f"CREATE TABLE IF NOT EXISTS {name} (\n    {columns}\n)"


def clickhouse_ddl(name: str) -> str:
    """For the ClickHouse store: engines, keys and bookkeeping columns are its schema's."""
    from clycyo.store.clickhouse.schema import ddl

    return ddl(name)[0]


def create_tables(store: EventStore) -> None:
    """Register the derived tables with a store that keeps them (DuckDB, ClickHouse)."""
    create = getattr(store, "create_derived", None)
    if create is None:
        raise TypeError(f"the {store.dialect} store keeps no derived tables")
    ddl = duckdb_ddl if store.dialect == "duckdb" else clickhouse_ddl
    for name in TABLES:
        create(name, ddl(name))
