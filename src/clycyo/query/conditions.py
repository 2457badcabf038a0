"""Filters as SQL conditions, and the parameters that carry their values.

Every value a user sends ends up in `Params` and reaches the engine as a parameter; the SQL text
holds only markers that `Params.render` turns into placeholders in the order they appear. A
filter's operator decides the shape of the condition (`IN`, `contains`, `regexp_matches`), the
registry gives the expression. `"(none)"` as a value matches a missing value. Visit filters on
events test the event's visit; an event outside any visit has no value for any visit dimension.
"""

from __future__ import annotations

from typing import Any

from clycyo.query import dialect as dialects
from clycyo.query import goals
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
        tests = [dialects.of(dialect).matches(expression, params.add(v)) for v in values]
    if wants_none:
        tests.append(f"{expression} IS NULL")
    test = " OR ".join(tests) or "FALSE"
    if negate:
        return f"NOT coalesce({test}, FALSE)"
    return f"coalesce({test}, FALSE)"


def keeps_none(f: Filter) -> bool:
    """Whether the filter holds for a missing value: `(none)` among the values of `is`,
    `contains` or `matches`, or left out of those of their negations."""
    return (NONE in f.values) != f.operator.endswith("_not")


def through_visit(
    filters: list[Filter], dialect: str, params: Params, site_id: str, live: str
) -> str:
    """Visit filters on an event row `e`, tested on the event's visit. An event outside any
    visit (a server event of a person never seen in a browser) has a missing value for every
    visit dimension, as a breakdown by that dimension reports it (`(none)`): when every filter
    holds for a missing value, the events left out are those of the visits that fail."""
    tests = " AND ".join(
        condition(f"v.{f.target.dimension.sql}", f, params, dialect) for f in filters
    )
    visits = f"SELECT v.visit_id FROM visits v WHERE v.site_id = {site_id} AND {live}"
    if all(keeps_none(f) for f in filters):
        return f"NOT coalesce(e.visit_id IN ({visits} AND NOT ({tests})), FALSE)"
    return f"e.visit_id IN ({visits} AND {tests})"


def event_expression(ref: DimensionRef, dialect: str, params: Params) -> str:
    """An `event:` dimension's expression on the event row `e` (its property key a parameter;
    a goal's by `goals.expression`)."""
    if ref.name == goals.GOAL:
        return goals.expression(ref.page_goals, params, dialect)
    sql = ref.dimension.sql
    assert isinstance(sql, dict)
    text = sql[dialect]
    if ref.dimension.parameter:
        text = text.replace("{key}", params.add(ref.key))
    return text


def event_condition(f: Filter, dialect: str, params: Params) -> str:
    """An `event:` filter on the event row `e` (a goal's by `goals.condition`)."""
    if f.target.name == goals.GOAL:
        return goals.condition(f.values, f.operator == "is_not", params, dialect)
    return condition(event_expression(f.target, dialect, params), f, params, dialect)


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
    visit: list[Filter] = []
    for f in filters:
        level = f.target.dimension.level
        if level == "event":
            conditions.append(event_condition(f, dialect, params))
        elif level == "visit":
            visit.append(f)
        else:
            raise QueryError("filters", f"{f.target.name} cannot filter this report")
    if visit:
        conditions.append(through_visit(visit, dialect, params, site_id, live))
    return conditions
