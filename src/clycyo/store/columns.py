"""The stored event's columns, once, with their type in each engine, and the Arrow conversion.

Both stores (DuckDB, ClickHouse) create their `events` table from this list and load batches
through `to_arrow`, so a column cannot exist in one engine and be missing in the other.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

import msgspec
import numpy as np
import pyarrow as pa

from clycyo.model import Event


class Column(NamedTuple):
    name: str
    duckdb: str
    clickhouse: str
    arrow: Any  # the Arrow type batches carry before the engine casts them


_STR = pa.string()
_TS = pa.timestamp("us")

# Derived columns first, then the Event fields in their declared order.
COLUMNS: tuple[Column, ...] = (
    Column("event_fp", "UBIGINT", "UInt64", pa.uint64()),
    Column("seq", "UBIGINT", "UInt64", pa.uint64()),
    Column("visit_id", "UBIGINT", "Nullable(UInt64)", pa.uint64()),
    Column("site_id", "INTEGER", "UInt32", pa.int32()),
    Column("event_id", "VARCHAR", "String", _STR),
    Column("time", "TIMESTAMP", "DateTime64(6, 'UTC')", _TS),
    Column("received_at", "TIMESTAMP", "DateTime64(6, 'UTC')", _TS),
    Column("origin", "VARCHAR", "LowCardinality(String)", _STR),
    Column("type", "VARCHAR", "LowCardinality(String)", _STR),
    Column("name", "VARCHAR", "LowCardinality(String)", _STR),
    Column("visitor_id", "VARCHAR", "Nullable(String)", _STR),
    Column("visitor_kind", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("user_id", "VARCHAR", "Nullable(String)", _STR),
    Column("session_id", "VARCHAR", "Nullable(String)", _STR),
    Column("url", "VARCHAR", "Nullable(String)", _STR),
    Column("hostname", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("page", "VARCHAR", "Nullable(String)", _STR),
    Column("title", "VARCHAR", "Nullable(String)", _STR),
    Column("referrer", "VARCHAR", "Nullable(String)", _STR),
    Column("referrer_host", "VARCHAR", "Nullable(String)", _STR),
    Column("source", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("channel", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("utm_source", "VARCHAR", "Nullable(String)", _STR),
    Column("utm_medium", "VARCHAR", "Nullable(String)", _STR),
    Column("utm_campaign", "VARCHAR", "Nullable(String)", _STR),
    Column("utm_term", "VARCHAR", "Nullable(String)", _STR),
    Column("utm_content", "VARCHAR", "Nullable(String)", _STR),
    Column("click_id", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("country", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("region", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("city", "VARCHAR", "Nullable(String)", _STR),
    Column("browser", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("browser_version", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("os", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("os_version", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("device", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("locale", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("screen", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("props", "MAP(VARCHAR, VARCHAR)", "Map(String, String)", pa.map_(_STR, _STR)),
    Column("revenue_amount", "DECIMAL(18, 6)", "Nullable(Decimal(18, 6))", _STR),
    Column("revenue_currency", "VARCHAR", "LowCardinality(Nullable(String))", _STR),
    Column("order_id", "VARCHAR", "Nullable(String)", _STR),
    Column("traits", "VARCHAR", "Nullable(String)", _STR),
)
NAMES = tuple(column.name for column in COLUMNS)
_EVENT_FIELDS = Event.__struct_fields__
_DERIVED = 3  # event_fp, seq and visit_id are made by the writer, not sent
if NAMES[_DERIVED:] != tuple(
    {"time_us": "time", "received_us": "received_at"}.get(f, f) for f in _EVENT_FIELDS
):
    raise RuntimeError("store columns and Event fields differ")
_TIME_INDEXES = (_EVENT_FIELDS.index("time_us"), _EVENT_FIELDS.index("received_us"))


class _RefusePandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if fullname.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def keep_pandas_out() -> None:
    """Stop pyarrow from importing pandas just to ask whether a value is a pandas object.

    Where pandas is installed (chDB depends on it), pyarrow imports it the first time it converts
    Python values, only to check their type: some 43 MB of a serving process's memory, for objects
    Clycyo never hands it. Here pyarrow asks once while pandas cannot be imported, and keeps that
    answer for the check; an explicit conversion to or from pandas would still import it."""
    if "pandas" in sys.modules:
        return
    refuse = _RefusePandas()
    sys.meta_path.insert(0, refuse)
    try:
        pa.array([0], pa.int64())
    finally:
        sys.meta_path.remove(refuse)


def fingerprint(site_id: int, event_id: str) -> int:
    """A 64-bit digest of (site, event_id): the dedupe key the writer checks and stores."""
    digest = hashlib.blake2b(f"{site_id}\x00{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def fingerprints(events: list[Event]) -> list[int]:
    """`fingerprint` of every event: the digests are joined and read back as integers at once,
    which costs half as much as one conversion per event."""
    blake2b = hashlib.blake2b
    prefixes: dict[int, str] = {}
    digests = []
    for event in events:
        site = event.site_id
        prefix = prefixes.get(site)
        if prefix is None:
            prefix = prefixes[site] = f"{site}\x00"
        digests.append(blake2b((prefix + event.event_id).encode(), digest_size=8).digest())
    return np.frombuffer(b"".join(digests), "<u8").tolist()  # type: ignore[no-any-return]


class _Rows:
    """How rows of a schema convert: one Arrow struct column, split into the schema's columns.
    Arrow converts a list of tuples to a struct in one call, which costs less than a call per
    column (a few microseconds each, most of a small batch's cost); timestamps go in as int64
    and are relabelled, because Arrow converts integers to timestamps two orders of magnitude
    slower than to int64."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.times = [i for i, f in enumerate(schema) if f.type == _TS]
        self.struct = pa.struct(
            [pa.field(f.name, pa.int64() if f.type == _TS else f.type) for f in schema]
        )
        self.empty = schema.empty_table()  # made once: empty_table() costs ~0.1 ms a call

    def arrays(self, rows: list[Any]) -> list[pa.Array]:
        arrays: list[pa.Array] = pa.array(rows, self.struct).flatten()
        for index in self.times:
            arrays[index] = arrays[index].view(_TS)
        return arrays


_ROWS: dict[pa.Schema, _Rows] = {}


def _rows(schema: pa.Schema) -> _Rows:
    rows = _ROWS.get(schema)
    if rows is None:
        rows = _ROWS[schema] = _Rows(schema)
    return rows


def rows_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Row tuples in `schema`'s column order as one Arrow table."""
    converter = _rows(schema)
    if not rows:
        return converter.empty
    return pa.Table.from_arrays(converter.arrays(rows), schema=schema)


# The Event fields as Arrow types (timestamps as int64 until converted; see `_Rows`).
_EVENT_SCHEMA = pa.schema(
    [(name, c.arrow) for name, c in zip(_EVENT_FIELDS, COLUMNS[_DERIVED:], strict=True)]
)
_SCHEMA = pa.schema([(c.name, c.arrow) for c in COLUMNS])


def to_arrow(
    events: list[Event],
    fingerprints: list[int],
    seqs: list[int],
    visit_ids: list[int | None] | None = None,
) -> pa.Table:
    """One Arrow table of `events` with the engines' column names (types cast by the engine)."""
    if not events:
        return _rows(_SCHEMA).empty
    astuple = msgspec.structs.astuple
    arrays = [
        pa.array(fingerprints, pa.uint64()),
        pa.array(seqs, pa.uint64()),
        pa.array(visit_ids, pa.uint64())
        if visit_ids is not None
        else pa.nulls(len(events), pa.uint64()),
        *_rows(_EVENT_SCHEMA).arrays([astuple(event) for event in events]),
    ]
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)
