"""`import_rows.events_of` reads a batch column by column and takes a fast way for the rows it
does not doubt: whatever the rows, it must give the events and the errors `event_of`, the
reference, gives row by row, from Parquet's types and from CSV's text alike."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pyarrow as pa

from clycyo.model import Event
from clycyo.store import import_rows
from clycyo.store.export import EXPORT_COLUMNS

NOW_US = 1_790_000_000_000_000  # 2026-09-21
AT = dt.datetime(2026, 9, 1, 12, 0)
SCHEMA = pa.schema(
    [
        pa.field(name, pa.timestamp("us"))
        if name in ("time", "received_at")
        else pa.field(name, pa.decimal128(18, 6))
        if name == "revenue_amount"
        else pa.field(name, pa.uint64())
        if name == "visit_id"
        else pa.field(name, pa.string())
        for name in EXPORT_COLUMNS
    ]
)
VALID: dict[str, Any] = {
    "time": AT,
    "received_at": AT + dt.timedelta(seconds=2),
    "origin": "browser",
    "type": "pageview",
    "name": "pageview",
    "visitor_id": "v1",
    "visitor_kind": "cookie",
    "url": "https://shop.example/pricing?utm_source=news",
    "hostname": "shop.example",
    "page": "/pricing",
    "source": "news",
    "country": "DE",
    "props": '{"plan": "pro", "seats": 3}',
}
# One change to the valid row each: kept or refused, by the fast way or by `event_of`.
CHANGES: list[dict[str, Any]] = [
    {},
    {"type": "event", "name": "signup", "url": None},
    {"type": "event", "name": "signup", "url": None, "order_id": "o1"},
    {"type": "identify", "name": "identify", "user_id": "u1", "traits": '{"n": 1}', "url": None},
    {"type": "identify", "name": "identify", "url": None},
    {"type": "event", "name": "", "url": None},
    {"type": "click"},
    {"origin": "robot"},
    {"origin": None},
    {"name": None},
    {"event_id": ""},
    {"event_id": "e" * 201},
    {"title": "t" * 2001},
    {"visitor_kind": "fingerprint"},
    {"url": "ftp://shop.example/"},
    {"url": "https://shop.example\\evil.example/"},
    {"url": None},
    {"url": "HTTPS://SHOP.EXAMPLE/"},
    {"time": None},
    {"time": dt.datetime(1999, 12, 31)},
    {"received_at": None},
    {"received_at": dt.datetime(2030, 1, 1)},
    {"time": AT + dt.timedelta(hours=1)},
    {"props": "[1, 2]"},
    {"props": '{"a": [1]}'},
    {"props": '{"a": true, "b": 1.5}'},
    {"props": "{}"},
    {"props": "not json"},
    {"traits": "not json"},
    {"type": "event", "name": "paid", "revenue_amount": Decimal("49"), "revenue_currency": "EUR"},
    {"type": "event", "name": "paid", "revenue_amount": Decimal("-2.5"), "revenue_currency": "X"},
    {"type": "event", "name": "paid", "revenue_currency": "EUR"},
    {"order_id": "o2"},
    {"order_id": ""},
]


def rows() -> list[dict[str, Any]]:
    """Every change alone, then every pair of changes, each row with its own event id."""
    changes = CHANGES + [{**a, **b} for a, b in itertools.combinations(CHANGES, 2)]
    found = []
    for index, change in enumerate(changes):
        row = dict.fromkeys(EXPORT_COLUMNS)
        row.update(VALID, event_id=f"e{index}", visit_id=index)
        row.update(change)
        found.append(row)
    return found


def reference(batch: pa.RecordBatch) -> tuple[list[Event], list[tuple[int, str]]]:
    """`event_of` row by row, on the values `events_of` gives it."""
    events, invalid = [], []
    times = {"time", "received_at"}
    for number, row in enumerate(batch.to_pylist(), start=7):
        row.pop("visit_id", None)
        for name in times & row.keys():
            if isinstance(row[name], dt.datetime):
                row[name] = (row[name] - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
        try:
            events.append(import_rows.event_of(row, 3, NOW_US))
        except import_rows.InvalidRow as exc:
            invalid.append((number, str(exc)))
    return events, invalid


def test_a_parquet_batch_gives_what_event_of_gives_row_by_row() -> None:
    batch = pa.RecordBatch.from_pylist(rows(), SCHEMA)
    events, invalid = import_rows.events_of(batch, 3, 7, NOW_US)
    expected = reference(batch)
    assert len(events) > 50 and len(invalid) > 100
    assert (events, invalid) == expected


def test_a_csv_batch_gives_what_event_of_gives_row_by_row() -> None:
    texts = []
    for row in rows():
        for name in ("time", "received_at"):
            if row[name] is not None:
                row[name] = row[name].isoformat(sep=" ")
        if row["revenue_amount"] is not None:
            row["revenue_amount"] = str(row["revenue_amount"])
        row["visit_id"] = str(row["visit_id"])
        texts.append(row)
    texts.append({**texts[0], "event_id": "late", "time": "yesterday"})
    text_schema = pa.schema([pa.field(name, pa.string()) for name in EXPORT_COLUMNS])
    batch = pa.RecordBatch.from_pylist(texts, text_schema)
    events, invalid = import_rows.events_of(batch, 3, 7, NOW_US)
    assert (events, invalid) == reference(batch)
    assert invalid[-1] == (7 + len(texts) - 1, "time: not a time ('yesterday')")


def test_a_file_without_the_optional_columns() -> None:
    wanted = [*import_rows.REQUIRED, "url"]
    table = pa.Table.from_pylist(rows(), SCHEMA).select(wanted)
    batch = table.to_batches()[0]
    events, invalid = import_rows.events_of(batch, 3, 7, NOW_US)
    assert events and (events, invalid) == reference(batch)
