"""What a dashboard URL asks for: the period, the comparison, the filters and the chart metric.

Everything the user picks lives in the query string (`period`, `from`, `to`, `compare`,
`compare_from`, `compare_to`, `f`, `metric`), so every view is a plain link that can be
bookmarked, shared and reloaded, and the `.json` twin of a view takes the same parameters.
Parsing is strict: anything malformed falls back to the default rather than reaching the query
layer, and a custom range outside the days the query layer takes (`query/dates.py`) is refused
(`OutOfRange`). This module runs no query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from clycyo.query.dates import FIRST_DAY, LAST_DAY, year_earlier

PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "last_month": "Last month",
    "12mo": "Last 12 months",
    "custom": "Custom range",
}
DEFAULT_PERIOD = "30d"
# What the totals and the chart are compared with (`compare`), and the query API's name for it.
COMPARISONS = {
    "previous": "vs previous period",
    "year": "vs a year before",
    "custom": "vs custom range",
    "off": "no comparison",
}
DEFAULT_COMPARISON = "previous"
API_COMPARISONS = {"previous": "previous_period", "year": "year_over_year"}
OPERATORS = {"is": "is", "is_not": "is not", "contains": "contains"}
# Dimensions a filter may name; the query layer validates them again against its registry.
_DIMENSION = re.compile(r"^(event|visit|first_touch|last_touch):[a-z_]{1,40}(:[\w.\-]{1,64})?\Z")
MAX_FILTERS = 10
MAX_FILTER_VALUE_CHARS = 500
MAX_RANGE_DAYS = 2 * 366
# A view's own choices that survive a change of period or filter, with the shape they must have.
KEPT_PARAMS = {"funnel": re.compile(r"^\d{1,9}$"), "window": re.compile(r"^\d{1,3}[hd]$")}


MAX_STORED_ID = 2**63 - 1  # SQLite's largest integer: a larger id names no stored row


def stored_id(value: object) -> int | None:
    """`value` (a path parameter or form field) as the id of a stored row, or None."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= MAX_STORED_ID else None


class OutOfRange(ValueError):
    """A well-formed parameter that no report can answer (a day before 1920 or after 2299)."""


@dataclass(frozen=True)
class Filter:
    op: str
    dimension: str
    value: str

    @property
    def param(self) -> str:
        return f"{self.op},{self.dimension},{self.value}"

    def as_query(self) -> list[object]:
        """The filter in the query API's shape."""
        return [self.op, self.dimension, [self.value]]


def parse_filter(text: str) -> Filter | None:
    parts = text.split(",", 2)
    if len(parts) != 3:
        return None
    op, dimension, value = parts
    if op not in OPERATORS or not _DIMENSION.match(dimension):
        return None
    if not value or len(value) > MAX_FILTER_VALUE_CHARS:
        return None
    return Filter(op, dimension, value)


@dataclass(frozen=True)
class Period:
    key: str
    first: dt.date
    last: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        if self.key != "custom":
            return PERIODS[self.key]
        return f"{self.first.isoformat()} to {self.last.isoformat()}"

    @property
    def interval(self) -> str:
        """The chart's bucket: hours for one day, days up to three months, then weeks."""
        if self.days == 1:
            return "hour"
        return "day" if self.days <= 92 else "week"

    def date_range(self) -> list[str]:
        return [self.first.isoformat(), self.last.isoformat()]

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        last = self.first - dt.timedelta(days=1)
        return Period("custom", last - dt.timedelta(days=self.days - 1), last)

    def year_before(self) -> Period:
        """The same days one year earlier, 29 February the 28th, as the query API's
        `year_over_year`."""
        return Period("custom", year_earlier(self.first), year_earlier(self.last))


def period_for(key: str, today: dt.date, first: str = "", last: str = "") -> Period:
    day = dt.timedelta(days=1)
    if key == "today":
        return Period(key, today, today)
    if key == "yesterday":
        return Period(key, today - day, today - day)
    if key == "7d":
        return Period(key, today - 6 * day, today)
    if key == "month":
        return Period(key, today.replace(day=1), today)
    if key == "last_month":
        end = today.replace(day=1) - day
        return Period(key, end.replace(day=1), end)
    if key == "12mo":
        return Period(key, today - 364 * day, today)
    if key == "custom":
        return custom_range(first, last) or period_for(DEFAULT_PERIOD, today)
    return Period("30d", today - 29 * day, today)


def custom_range(first: str, last: str, names: tuple[str, str] = ("from", "to")) -> Period | None:
    """The days `first` to `last` (in either order, at most MAX_RANGE_DAYS ending at the later),
    None when either is not a day; OutOfRange, naming the parameter (`names`), for a day the
    query layer does not take."""
    try:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        return None
    for name, chosen in zip(names, (start, end), strict=True):
        if not FIRST_DAY <= chosen <= LAST_DAY:
            raise OutOfRange(f"{name}: a day between {FIRST_DAY} and {LAST_DAY}")
    start, end = min(start, end), max(start, end)
    start = max(start, end - dt.timedelta(days=MAX_RANGE_DAYS - 1))
    return Period("custom", start, end)


# Filters that choose a goal: events of a name, or a goal of the site's (a page goal too).
GOAL_DIMENSIONS = ("event:name", "event:goal")


def goal_chosen(filters: Iterable[Filter]) -> bool:
    """Whether filters keep events of some names or goals (`is` or `contains` on `event:name`,
    `is` on `event:goal`): a goal."""
    return any(f.dimension in GOAL_DIMENSIONS and f.op != "is_not" for f in filters)


def default_metric(filters: Iterable[Filter]) -> str:
    """The chart's metric when the URL names none: with a goal, its unique conversions (as
    Plausible's chart), else unique visitors."""
    return "conversions" if goal_chosen(filters) else "visitors"


@dataclass(frozen=True)
class ViewState:
    period: Period
    compare: str = DEFAULT_COMPARISON  # a key of COMPARISONS
    compare_range: Period | None = None  # the days of `compare=custom`
    filters: tuple[Filter, ...] = ()
    metric: str = "visitors"
    extra: tuple[tuple[str, str], ...] = field(default=())  # a view's own parameters

    def query_filters(self) -> list[list[object]]:
        return [f.as_query() for f in self.filters]

    @property
    def comparing(self) -> bool:
        return self.compare != "off"

    def compared_period(self) -> Period | None:
        """The days the totals and the chart are compared with, if any."""
        if self.compare == "year":
            return self.period.year_before()
        if self.compare == "custom":
            return self.compare_range
        return self.period.previous() if self.comparing else None

    def compare_params(self) -> list[tuple[str, str]]:
        """The comparison's part of the query string: nothing for the default."""
        if self.compare == DEFAULT_COMPARISON:
            return []
        if self.compare_range is None:
            return [("compare", self.compare)]
        first, last = self.compare_range.date_range()
        return [("compare", self.compare), ("compare_from", first), ("compare_to", last)]

    def metric_params(self) -> list[tuple[str, str]]:
        """The chart metric's part of the query string: nothing for the filters' default (so
        `visitors` chosen beside a goal, whose default is conversions, is kept)."""
        if self.metric == default_metric(self.filters):
            return []
        return [("metric", self.metric)]

    def params(self, filters: tuple[Filter, ...] | None = None, metric: str | None = None) -> str:
        """This state's query string, with other `filters` or another chart `metric`. A chart
        left at its default follows the new filters' default (a goal added or removed)."""
        kept = self.filters if filters is None else tuple(filters)
        if metric is None:
            chose = self.metric != default_metric(self.filters)
            metric = self.metric if chose else default_metric(kept)
        state = replace(self, filters=kept, metric=metric)
        pairs: list[tuple[str, str]] = [("period", state.period.key)]
        if state.period.key == "custom":
            pairs += [
                ("from", state.period.first.isoformat()),
                ("to", state.period.last.isoformat()),
            ]
        pairs += state.compare_params()
        pairs += [("f", f.param) for f in state.filters]
        pairs += state.metric_params()
        pairs += list(state.extra)
        return urlencode(pairs)

    def with_filter(self, new: Filter) -> str:
        kept = tuple(f for f in self.filters if f.dimension != new.dimension)
        return self.params(filters=(*kept, new))

    def without_filter(self, old: Filter) -> str:
        return self.params(filters=tuple(f for f in self.filters if f != old))

    def filtered_by(self, dimension: str) -> str | None:
        """The value of an `is` filter on `dimension`, if one is set."""
        for f in self.filters:
            if f.dimension == dimension and f.op == "is":
                return f.value
        return None


def view_state(
    query: Mapping[str, str], multi: list[tuple[str, str]], today: dt.date, metrics: set[str]
) -> ViewState:
    """Parse a query string (`query` its last values, `multi` every pair) into a state."""
    period = period_for(
        query.get("period", DEFAULT_PERIOD), today, query.get("from", ""), query.get("to", "")
    )
    filters: list[Filter] = []
    for name, value in multi:
        parsed = parse_filter(value) if name == "f" else None
        if parsed is not None and parsed not in filters and len(filters) < MAX_FILTERS:
            filters.append(parsed)
    default = default_metric(filters)
    metric = query.get("metric", default)
    compare = query.get("compare", DEFAULT_COMPARISON)
    compare_range = None
    if compare == "custom":
        names = ("compare_from", "compare_to")
        compare_range = custom_range(query.get(names[0], ""), query.get(names[1], ""), names)
    if compare not in COMPARISONS or (compare == "custom" and compare_range is None):
        compare = DEFAULT_COMPARISON
    return ViewState(
        period=period,
        compare=compare,
        compare_range=compare_range,
        filters=tuple(filters),
        metric=metric if metric in metrics else default,
        extra=tuple(
            (name, query[name])
            for name, shape in KEPT_PARAMS.items()
            if shape.match(query.get(name, ""))
        ),
    )
