"""The stored event's columns, once, with their type in each engine, and the Arrow conversion.

Both stores (DuckDB, ClickHouse) create their `events` table from this list and load batches
through `to_arrow`, so a column cannot exist in one engine and be missing in the other.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import msgspec
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
_PROPS_INDEX = _EVENT_FIELDS.index("props")


def fingerprint(site_id: int, event_id: str) -> int:
    """A 64-bit digest of (site, event_id): the dedupe key the writer checks and stores."""
    digest = hashlib.blake2b(f"{site_id}\x00{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _map_array(values: Any) -> pa.Array:
    """Props (dicts of text, or None) as an Arrow map column, built from flat lists: about three
    times faster than converting a list of item lists."""
    offsets = [0]
    keys: list[str] = []
    items: list[str] = []
    missing: list[bool] = []
    total = 0
    for value in values:
        if value is None:
            missing.append(True)
        else:
            missing.append(False)
            keys.extend(value)
            items.extend(value.values())
            total += len(value)
        offsets.append(total)
    return pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()),
        pa.array(keys, _STR),
        pa.array(items, _STR),
        mask=pa.array(missing, pa.bool_()),
    )


def to_arrow(
    events: list[Event],
    fingerprints: list[int],
    seqs: list[int],
    visit_ids: list[int | None] | None = None,
) -> pa.Table:
    """One Arrow table of `events` with the engines' column names (types cast by the engine)."""
    rows = [msgspec.structs.astuple(event) for event in events]
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * len(_EVENT_FIELDS)
    arrays = [
        pa.array(fingerprints, pa.uint64()),
        pa.array(seqs, pa.uint64()),
        pa.array(visit_ids if visit_ids is not None else [None] * len(events), pa.uint64()),
    ]
    for index, column in enumerate(COLUMNS[_DERIVED:]):
        values = columns[index]
        if index in _TIME_INDEXES:
            arrays.append(pa.array(values, pa.int64()).cast(_TS))
        elif index == _PROPS_INDEX:
            arrays.append(_map_array(values))
        else:
            arrays.append(pa.array(values, column.arrow))
    return pa.Table.from_arrays(arrays, names=list(NAMES))
