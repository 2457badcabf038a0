"""The query spec (CONTRACT §5): its wire shape, and its validation into a checked `Query`.

A body decodes into `QuerySpec` (msgspec checks types); `check` then resolves every name against
the registry and every value against the rules, and fails with a `QueryError` naming the part
("metrics[2]: unknown metric 'foo'"). A `Query` holds only registry objects and values, which is
what the builder needs to keep user input out of SQL text. No SQL here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

from clycyo.query import dates, goals, registry
from clycyo.query.errors import QueryError, invalid_spec
from clycyo.query.registry import Dimension, Metric

MAX_LIMIT = 10_000
MAX_VALUES = 100
# The filter `["is", "segment", [ID]]`, which the query endpoint puts the segment's filters in
# place of before this check (`segment_filters.py`): here it is in a report that takes none.
SEGMENT = "segment"
OPERATORS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")
NONE = "(none)"


class ComparisonRange(msgspec.Struct, forbid_unknown_fields=True):
    """A custom period to compare with: `{"date_range": [start, end]}`."""

    date_range: list[str]


class Include(msgspec.Struct, forbid_unknown_fields=True):
    comparison: Literal["previous_period", "year_over_year"] | ComparisonRange | None = None
    time_labels: bool = True  # fill empty time buckets


class QuerySpec(msgspec.Struct, forbid_unknown_fields=True):
    site: str
    metrics: list[str]
    date_range: str | list[str] = "30d"
    dimensions: list[str] = []
    filters: list[list[Any]] = []
    order_by: list[list[str]] | None = None
    limit: int = 100
    include: Include | None = None


@dataclass(frozen=True)
class DimensionRef:
    dimension: Dimension
    key: str | None  # the property of `event:props:KEY`
    name: str
    # `event:goal` as a dimension: the patterns of the site's page goals, one row each.
    page_goals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filter:
    operator: str
    target: DimensionRef
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    site: str
    metrics: tuple[Metric, ...]
    period: dates.Period
    dimensions: tuple[DimensionRef, ...]
    filters: tuple[Filter, ...]
    order_by: tuple[tuple[str, bool], ...]  # (metric or dimension name, descending)
    limit: int
    comparison: dates.Period | None  # the period each row is compared with
    fill_time: bool

    @property
    def event_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.target.dimension.level == "event")


# The engines' regular expressions (RE2) have neither; Python's `re` would accept them.
_UNSUPPORTED_REGEX = re.compile(r"\(\?<?[=!]|\\[1-9]")


def decode(body: bytes | dict[str, Any]) -> QuerySpec:
    """The spec from a JSON body (or an already parsed object)."""
    try:
        if isinstance(body, bytes):
            return msgspec.json.decode(body, type=QuerySpec)
        return msgspec.convert(body, QuerySpec)
    except msgspec.ValidationError as exc:
        raise invalid_spec(exc, QuerySpec) from None
    except msgspec.DecodeError:
        raise QueryError("body", "not valid JSON") from None


def _dimension(name: object, field: str) -> DimensionRef:
    if not isinstance(name, str):
        raise QueryError(field, "expected a dimension name")
    found = registry.dimension(name)
    if found is None:
        raise QueryError(field, f"unknown dimension {name!r}")
    return DimensionRef(found[0], found[1], name)


def check_filter(raw: list[Any], field: str, page_goals: Collection[str] | None = None) -> Filter:
    """One filter; `page_goals` are the site's page goals' patterns, which an `event:goal` filter
    must name (None: a report that does not look them up, which takes any well-formed one)."""
    if len(raw) != 3:
        raise QueryError(field, "expected [operator, dimension, [values]]")
    operator, name, values = raw
    if name == SEGMENT:
        raise QueryError(
            f"{field}[1]",
            "a segment is applied by /api/v1/query only; give this report the segment's own"
            " filters (clycyo segment list shows them)",
        )
    if operator not in OPERATORS:
        raise QueryError(f"{field}[0]", f"unknown operator {operator!r} ({', '.join(OPERATORS)})")
    target = _dimension(name, f"{field}[1]")
    if not target.dimension.filterable:
        raise QueryError(f"{field}[1]", f"{name} cannot be filtered; use date_range")
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
        raise QueryError(f"{field}[2]", f"expected a list of 1 to {MAX_VALUES} values")
    clean = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise QueryError(f"{field}[2][{index}]", "expected a string or a number")
        text = str(value)
        if operator.startswith("matches"):
            if _UNSUPPORTED_REGEX.search(text):
                raise QueryError(
                    f"{field}[2][{index}]", "lookarounds and backreferences are not supported"
                )
            try:
                re.compile(text)
            except re.error as exc:
                raise QueryError(
                    f"{field}[2][{index}]", f"not a regular expression: {exc}"
                ) from None
        clean.append(text)
    if target.name == goals.GOAL:
        goals.check_values(operator, clean, field, page_goals)
    return Filter(operator, target, tuple(clean))


def check(
    spec: QuerySpec,
    *,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
    page_goals: Collection[str] = (),
) -> Query:
    """Resolve and validate a decoded spec for a site in `timezone` with `page_goals` (the
    patterns of its page goals)."""
    if not spec.metrics:
        raise QueryError("metrics", "at least one metric is required")
    metrics = []
    for index, name in enumerate(spec.metrics):
        metric = registry.METRICS.get(name)
        if metric is None:
            raise QueryError(f"metrics[{index}]", f"unknown metric {name!r}")
        if metric in metrics:
            raise QueryError(f"metrics[{index}]", f"{name} is asked twice")
        metrics.append(metric)
    dimensions = tuple(
        _dimension(name, f"dimensions[{index}]") for index, name in enumerate(spec.dimensions)
    )
    for index, ref in enumerate(dimensions):
        if not ref.dimension.groupable:
            raise QueryError(f"dimensions[{index}]", f"{ref.name} filters only; it has no rows")
    dimensions = tuple(
        replace(ref, page_goals=tuple(sorted(page_goals))) if ref.name == goals.GOAL else ref
        for ref in dimensions
    )
    if len({d.name for d in dimensions}) != len(dimensions):
        raise QueryError("dimensions", "a dimension is asked twice")
    if sum(d.dimension.level == "time" for d in dimensions) > 1:
        raise QueryError("dimensions", "at most one time dimension")
    filters = tuple(
        check_filter(raw, f"filters[{index}]", page_goals) for index, raw in enumerate(spec.filters)
    )
    if not 1 <= spec.limit <= MAX_LIMIT:
        raise QueryError("limit", f"expected 1 to {MAX_LIMIT}")
    names = {m.name for m in metrics} | {d.name for d in dimensions}
    order_by = []
    for index, item in enumerate(spec.order_by or []):
        if len(item) != 2 or item[1] not in ("asc", "desc"):
            raise QueryError(f"order_by[{index}]", 'expected [name, "asc" | "desc"]')
        if item[0] not in names:
            raise QueryError(
                f"order_by[{index}]", f"{item[0]!r} is not a metric or dimension of the query"
            )
        order_by.append((item[0], item[1] == "desc"))
    if not order_by:
        time_dimension = next((d for d in dimensions if d.dimension.level == "time"), None)
        if time_dimension is not None:
            order_by.append((time_dimension.name, False))
        else:
            order_by.append((metrics[0].name, True))
    include = spec.include or Include()
    period = dates.period(spec.date_range, timezone, now)
    return Query(
        site=spec.site,
        metrics=tuple(metrics),
        period=period,
        dimensions=dimensions,
        filters=filters,
        order_by=tuple(order_by),
        limit=spec.limit,
        comparison=_comparison(include.comparison, period, timezone, now),
        fill_time=include.time_labels,
    )


def _comparison(
    asked: str | ComparisonRange | None,
    period: dates.Period,
    timezone: str,
    now: dt.datetime | None,
) -> dates.Period | None:
    """The period `include.comparison` names: the one just before, the year before, or a range
    of its own, which the same rules as `date_range`'s two days or times check."""
    if asked == "previous_period":
        return period.previous()
    if asked == "year_over_year":
        return period.year_before()
    if isinstance(asked, ComparisonRange):
        try:
            return dates.period(asked.date_range, timezone, now)
        except QueryError as exc:
            raise QueryError(f"include.comparison.{exc.field}", exc.reason) from None
    return None
