"""Statements in, rows out: the query layer's `?` parameters as ClickHouse's typed placeholders,
and ClickHouse's Arrow answers as the Python values DuckDB's driver returns.

The query layer writes one statement text per dialect with `?` for every value (never a value in
the text). ClickHouse binds `{name:Type}` placeholders, so each `?` outside a string literal
becomes one, typed from its Python value; `None` becomes `NULL`. Answers come back as Arrow and
leave as tuples of plain values: times naive (UTC, or the wall time of a time-zone bucket, as
DuckDB's `AT TIME ZONE` gives), maps as dicts (empty ones as NULL), decimals as `Decimal`. No
SQL is written here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

_INT64_MAX = (1 << 63) - 1


def type_of(value: Any) -> str:
    """The ClickHouse type a parameter value is bound as."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "UInt64" if value > _INT64_MAX else "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, Decimal):
        return "Decimal(38, 9)"
    if isinstance(value, dt.datetime):
        return "DateTime64(6, 'UTC')"
    if isinstance(value, dt.date):
        return "Date"
    if isinstance(value, list):
        present = [item for item in value if item is not None]
        if present and all(isinstance(i, int) and not isinstance(i, bool) for i in present):
            inner = "UInt64" if max(present) > _INT64_MAX else "Int64"
        else:
            inner = type_of(present[0]) if present else "String"
        return f"Array({inner})"
    if isinstance(value, tuple):
        return f"Tuple({', '.join(type_of(item) for item in value)})"
    return "String"


def bind(sql: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`sql` with each `?` outside quotes replaced by a typed placeholder, and their values."""
    out: list[str] = []
    params: dict[str, Any] = {}
    quote: str | None = None
    index = 0
    position = 0
    while position < len(sql):
        char = sql[position]
        if quote is not None:
            out.append(char)
            if char == "\\" and position + 1 < len(sql):
                out.append(sql[position + 1])
                position += 1
            elif char == quote:
                quote = None
        elif char in ("'", '"', "`"):
            quote = char
            out.append(char)
        elif char == "?":
            if index >= len(values):
                raise ValueError("more ? placeholders than parameters")
            value = values[index]
            if value is None:
                out.append("NULL")
            else:
                name = f"p{index}"
                params[name] = value
                out.append("{" + f"{name}:{type_of(value)}" + "}")
            index += 1
        else:
            out.append(char)
        position += 1
    if index != len(values):
        raise ValueError(f"{len(values)} parameters for {index} placeholders")
    return "".join(out), params


def _python(column: pa.ChunkedArray) -> list[Any]:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            column = pc.local_timestamp(column)
        return list(column.cast(pa.timestamp("us")).to_pylist())
    if pa.types.is_date(kind):
        return list(column.cast(pa.timestamp("us")).to_pylist())
    if pa.types.is_map(kind):
        # A map column cannot be NULL in ClickHouse; events without props are stored empty
        # (the pipeline never stores an empty map), and leave as DuckDB gives them: NULL.
        return [dict(v) if v else None for v in column.to_pylist()]
    return list(column.to_pylist())


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """An Arrow answer as a list of tuples, one per row."""
    if table.num_columns == 0 or table.num_rows == 0:
        return []
    return list(zip(*(_python(column) for column in table.columns), strict=True))
