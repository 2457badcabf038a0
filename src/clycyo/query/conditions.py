"""Filters as SQL conditions, and the parameters that carry their values.

Every value a user sends ends up in `Params` and reaches the engine as a parameter; the SQL text
holds only markers that `Params.render` turns into placeholders in the order they appear. A
filter's operator decides the shape of the condition (`IN`, `contains`, `regexp_matches`), the
registry gives the expression. `"(none)"` as a value matches a missing value.
"""

from __future__ import annotations

from typing import Any

from clycyo.query.errors import QueryError
from clycyo.query.spec import NONE, DimensionRef, Filter


class Params:
    """Values of one statement; `add` returns a marker the final text turns into a placeholder."""

    def __init__(self) -> None:
        self._values: list[Any] = []

    def add(self, value: Any) -> str:
        self._values.append(value)
        return f"\x00{len(self._values) - 1}\x00"

    def render(self, sql: str) -> tuple[str, list[Any]]:
        parts = sql.split("\x00")
        text: list[str] = []
        values: list[Any] = []
        for index, part in enumerate(parts):
            if index % 2:
                values.append(self._values[int(part)])
                text.append("?")
            else:
                text.append(part)
        return "".join(text), values


_CONTAINS = {
    "duckdb": "contains(lower({x}), lower({v}))",
    "clickhouse": "positionCaseInsensitiveUTF8({x}, {v}) > 0",
}
_MATCHES = {"duckdb": "regexp_matches({x}, {v})", "clickhouse": "match({x}, {v})"}


def condition(expression: str, f: Filter, params: Params, dialect: str) -> str:
    values = [v for v in f.values if v != NONE]
    wants_none = len(values) != len(f.values)
    op = f.operator
    negate = op.endswith("_not")
    if op.startswith("is"):
        tests = [f"{expression} IN ({', '.join(params.add(v) for v in values)})"] if values else []
    elif op.startswith("contains"):
        template = _CONTAINS[dialect]
        tests = [template.format(x=expression, v=params.add(v)) for v in values]
    else:
        template = _MATCHES[dialect]
        tests = [template.format(x=expression, v=params.add(v)) for v in values]
    if wants_none:
        tests.append(f"{expression} IS NULL")
    test = " OR ".join(tests) or "FALSE"
    if negate:
        return f"NOT coalesce({test}, FALSE)"
    return f"coalesce({test}, FALSE)"


def event_expression(ref: DimensionRef, dialect: str, params: Params) -> str:
    """An `event:` dimension's expression on the event row `e` (its property key a parameter)."""
    sql = ref.dimension.sql
    assert isinstance(sql, dict)
    text = sql[dialect]
    if ref.dimension.parameter:
        text = text.replace("{key}", params.add(ref.key))
    return text


def page_key_condition(f: Filter, params: Params) -> str | None:
    """`event:page` is / is_not as a test of the `pageviews` table's page numbers (several
    times cheaper than comparing text), or None when the filter needs the text."""
    from clycyo.identity.keys import page_key

    if f.target.name != "event:page" or f.operator not in ("is", "is_not") or NONE in f.values:
        return None
    keys = ", ".join(params.add(page_key(v)) for v in f.values)
    return f"{'NOT ' if f.operator == 'is_not' else ''}e.page_key IN ({keys})"


def event_row_filters(
    filters: tuple[Filter, ...], dialect: str, params: Params, site_id: str, live: str
) -> list[str]:
    """Conditions on an event row `e`: event filters directly, visit filters through the
    event's visit. Attribution filters have no meaning for single events here."""
    conditions: list[str] = []
    visit: list[str] = []
    for f in filters:
        level = f.target.dimension.level
        if level == "event":
            expression = event_expression(f.target, dialect, params)
            conditions.append(condition(expression, f, params, dialect))
        elif level == "visit":
            visit.append(condition(f"v.{f.target.dimension.sql}", f, params, dialect))
        else:
            raise QueryError("filters", f"{f.target.name} cannot filter this report")
    if visit:
        conditions.append(
            f"e.visit_id IN (SELECT v.visit_id FROM visits v WHERE v.site_id = {site_id}"
            f" AND {live} AND {' AND '.join(visit)})"
        )
    return conditions
