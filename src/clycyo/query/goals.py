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

`identify` and the events the tracker sends on its own (`TRACKER_EVENTS`: engagement reports,
web vitals, errors, rage clicks, outbound clicks, downloads) are no goal (`NOT_GOALS`): no
breakdown row, and a filter naming one is refused (`event:name` keeps them). The dashboard's
goals panel and the Realtime page's conversions leave out the same events.
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
# Events the tracker sends on its own besides pageviews and identify.
TRACKER_EVENTS = (
    "engagement",
    "web_vital",
    "js_error",
    "rage_click",
    "outbound_click",
    "file_download",
)
# Names of events that are never a goal (a pageview's goals are the page goals its page matches).
NOT_GOALS = ("identify", *TRACKER_EVENTS)


def pattern_of(name: str) -> str | None:
    """A page goal's pattern, or None for a custom event's name."""
    return name.removeprefix(PREFIX) if name.startswith(PREFIX + "/") else None


def check_values(
    operator: str, values: list[str], field: str, page_goals: Collection[str] | None
) -> None:
    """Refuse what no goal is: an operator but `is` and `is_not`, `pageview`, `identify` and the
    tracker's own events (`NOT_GOALS`), a pattern that is not one, and with the site's page goals
    given (`page_goals`) a page goal not among them."""
    if operator not in OPERATORS:
        raise QueryError(f"{field}[0]", f"{GOAL} takes {' or '.join(OPERATORS)}")
    for index, value in enumerate(values):
        where = f"{field}[2][{index}]"
        if value == "pageview":
            raise QueryError(where, f"{GOAL}: a page goal is named 'Visit /path', not pageview")
        if value in NOT_GOALS:
            raise QueryError(
                where,
                f"{GOAL}: {value!r} is no goal: identify and the tracker's own events are not"
                " conversions (event:name keeps them)",
            )
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
    """Events of the goals `values` on the event row `e` (or none of them, `negate`). The page
    goals' expressions are one alternation, so a page is read once whatever their number."""
    tests = []
    names = [v for v in values if pattern_of(v) is None]
    if names:
        tests.append(f"e.name IN ({', '.join(params.add(n) for n in names)})")
    regexes = [page_regex(p) for p in map(pattern_of, values) if p is not None]
    if regexes:
        matches = dialects.of(dialect).matches("e.page", params.add("|".join(regexes)))
        tests.append(f"({registry.IS_PAGEVIEW[dialect]} AND {matches})")
    test = " OR ".join(tests)
    return f"NOT coalesce({test}, FALSE)" if negate else f"coalesce({test}, FALSE)"


# One row per goal of the event row `e`: {pages} is the list of the page goals a pageview's
# page matches, {name} a custom event's name if it is a goal, {empty} a list of none. DuckDB
# reads {pages} per distinct page (a subquery on `e.page`, which it joins once per page), as
# the goals' expressions cost more the more goals there are; ClickHouse per row.
_EACH = {
    "duckdb": "unnest(CASE WHEN {pageview} THEN {pages} WHEN {name} THEN [e.name]"
    " ELSE {empty} END)",
    "clickhouse": "arrayJoin(if({pageview}, {pages},"
    " if({name}, [CAST(e.name AS String)], {empty})))",
}
_EMPTY = {"duckdb": "CAST([] AS VARCHAR[])", "clickhouse": "CAST([] AS Array(String))"}


def expression(patterns: tuple[str, ...], params: Params, dialect: str) -> str:
    """The `event:goal` dimension on the event row `e`: one row per goal of the event, the
    site's page goals being `patterns` (see the module's docstring)."""
    clickhouse = dialects.of(dialect).clickhouse
    page = "e.page" if clickhouse else "x.page"
    names = ", ".join(params.add(PREFIX + p) for p in patterns)
    masks = ", ".join(
        f"coalesce({dialects.of(dialect).matches(page, params.add(page_regex(p)))}, FALSE)"
        for p in patterns
    )
    if not patterns:
        pages = _EMPTY[dialect]
    elif clickhouse:
        pages = f"arrayFilter((goal, hit) -> hit, [{names}], [{masks}])"
    else:
        pages = f"(SELECT list_where([{names}], [{masks}]) FROM (SELECT e.page AS page) x)"
    # A custom event's name is its goal, unless it reads as a page goal's, which only
    # pageviews reach (as the filter has it: `Visit /x` always names the page goal), or it is
    # an event that is never a goal.
    others = ", ".join(params.add(n) for n in NOT_GOALS)
    name = f"e.name NOT LIKE {params.add(PREFIX + '/%')} AND e.name NOT IN ({others})"
    return (
        _EACH[dialect]
        .replace("{pageview}", registry.IS_PAGEVIEW[dialect])
        .replace("{pages}", pages)
        .replace("{name}", name)
        .replace("{empty}", _EMPTY[dialect])
    )
