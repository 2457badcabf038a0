"""The `event:goal` filter: a goal's name as the events it keeps.

A goal is either a page goal, named "Visit /pattern" (`config/goals.py`), which keeps the
pageviews whose page the pattern matches, or a custom event's name, which keeps the events of that
name (`event:name is X`). A pattern becomes an anchored regular expression (`page_regex`, in
`config/goals.py`; RE2, which both engines use) in which every character but the wildcards is
literal (escaped as Python's `re` escapes it): `**` is `.*`, `*` is `[^/]*`. The expression
reaches the engine as a parameter, as every filter value does.
Whether a page goal is one of the site's is checked with the query (`check_values`); this module
reads no configuration itself.

Broken down by `event:goal` (`expression`), an event is in the row of each goal that keeps it:
a pageview in the row of every page goal whose pattern matches its page (so goals that overlap
each count it, and a page no goal matches is in no row), any other event in its name's. Each
row is then what the query filtered by that goal alone gives, in one statement for all goals.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from clycyo.config.goals import PREFIX, GoalError, check_pattern, page_regex
from clycyo.query import dialect as dialects
from clycyo.query import registry
from clycyo.query.errors import QueryError

if TYPE_CHECKING:
    from clycyo.query.conditions import Params

GOAL = "event:goal"
OPERATORS = ("is", "is_not")


def pattern_of(name: str) -> str | None:
    """A page goal's pattern, or None for a custom event's name."""
    return name.removeprefix(PREFIX) if name.startswith(PREFIX + "/") else None


def check_values(
    operator: str, values: list[str], field: str, page_goals: Collection[str] | None
) -> None:
    """Refuse what no goal is: an operator but `is` and `is_not`, `pageview`, a pattern that is
    not one, and with the site's page goals given (`page_goals`) a page goal not among them."""
    if operator not in OPERATORS:
        raise QueryError(f"{field}[0]", f"{GOAL} takes {' or '.join(OPERATORS)}")
    for index, value in enumerate(values):
        where = f"{field}[2][{index}]"
        if value == "pageview":
            raise QueryError(where, f"{GOAL}: a page goal is named 'Visit /path', not pageview")
        pattern = pattern_of(value)
        if pattern is None:
            continue
        try:
            check_pattern(pattern)
        except GoalError as exc:
            raise QueryError(where, f"{GOAL}: {exc}") from None
        if page_goals is not None and pattern not in page_goals:
            raise QueryError(where, f"{GOAL}: the site has no goal {value!r}")


def condition(values: tuple[str, ...], negate: bool, params: Params, dialect: str) -> str:
    """Events of the goals `values` on the event row `e` (or none of them, `negate`)."""
    tests = []
    names = [v for v in values if pattern_of(v) is None]
    if names:
        tests.append(f"e.name IN ({', '.join(params.add(n) for n in names)})")
    pageview = registry.IS_PAGEVIEW[dialect]
    for value in values:
        pattern = pattern_of(value)
        if pattern is not None:
            matches = dialects.of(dialect).matches("e.page", params.add(page_regex(pattern)))
            tests.append(f"({pageview} AND {matches})")
    test = " OR ".join(tests)
    return f"NOT coalesce({test}, FALSE)" if negate else f"coalesce({test}, FALSE)"


# Every goal's name an event has, or NULL, as a list; then one row per name (none for none).
_EACH = {
    "duckdb": "unnest(list_distinct([{items}]))",  # list_distinct drops the NULLs too
    "clickhouse": "arrayJoin(arrayFilter(x -> isNotNull(x), [{items}]))",
}


def expression(patterns: tuple[str, ...], params: Params, dialect: str) -> str:
    """The `event:goal` dimension on the event row `e`: one row per goal of the event, the
    site's page goals being `patterns` (see the module's docstring)."""
    pageview = registry.IS_PAGEVIEW[dialect]
    # A custom event's name is its goal, unless it reads as a page goal's, which only
    # pageviews reach (as the filter has it: `Visit /x` always names the page goal).
    items = [
        f"CASE WHEN NOT ({pageview}) AND e.name NOT LIKE {params.add(PREFIX + '/%')}"
        " THEN e.name END"
    ]
    for pattern in patterns:
        matches = dialects.of(dialect).matches("e.page", params.add(page_regex(pattern)))
        items.append(f"CASE WHEN {pageview} AND {matches} THEN {params.add(PREFIX + pattern)} END")
    return _EACH[dialect].replace("{items}", ", ".join(items))
