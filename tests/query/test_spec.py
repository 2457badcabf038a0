"""Query specs: every mistake is refused with the field that is wrong and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clycyo.query import dates, spec
from clycyo.query.errors import QueryError

NOW = dt.datetime(2026, 3, 15, 10, 30, tzinfo=dt.UTC)


def _check(**body: Any) -> spec.Query:
    return spec.check(spec.decode({"site": "shop.test", "metrics": ["visitors"], **body}), now=NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"metrics": ["visitors", "visits", "foo"]}, "metrics[2]: unknown metric 'foo'"),
        ({"metrics": []}, "metrics: at least one metric is required"),
        ({"metrics": "visitors"}, "metrics: expected `array`, got `str`"),
        ({"dimensions": ["visit:sauce"]}, "dimensions[0]: unknown dimension 'visit:sauce'"),
        ({"dimensions": ["time:day", "time:week"]}, "dimensions: at most one time dimension"),
        ({"filters": [["like", "event:page", ["/"]]]}, "filters[0][0]: unknown operator 'like'"),
        (
            {"filters": [["is", "event:page"]]},
            "filters[0]: expected [operator, dimension, [values]]",
        ),
        ({"filters": [["is", "time:day", ["x"]]]}, "filters[0][1]: time:day cannot be filtered"),
        ({"filters": [["is", "event:page", []]]}, "filters[0][2]: expected a list of 1 to 100"),
        ({"filters": [["matches", "event:page", ["(("]]]}, "filters[0][2][0]: not a regular"),
        ({"filters": [["matches", "event:page", ["a(?!b)"]]]}, "filters[0][2][0]: lookarounds"),
        ({"date_range": "yesteryear"}, "date_range: expected 'today'"),
        ({"date_range": ["2026-03-10", "2026-03-01"]}, "date_range: the end is before the start"),
        ({"date_range": ["2026-03-10", "soon"]}, "date_range[1]: expected a date"),
        (
            {"order_by": [["revenue", "desc"]]},
            "order_by[0]: 'revenue' is not a metric or dimension",
        ),
        ({"order_by": [["visitors", "up"]]}, 'order_by[0]: expected [name, "asc" | "desc"]'),
        ({"limit": 0}, "limit: expected 1 to 10000"),
        ({"colour": "red"}, "object contains unknown field `colour`"),
        (
            {"include": {"comparison": "last_year"}},
            "include.comparison: invalid enum value 'last_year'"
            " (one of 'previous_period', 'year_over_year')",
        ),
        (
            {"include": {"comparison": {"date_range": ["2025-03-01", "2025-02-30"]}}},
            "include.comparison.date_range[1]: expected a date YYYY-MM-DD, got '2025-02-30'",
        ),
        (
            {"include": {"comparison": {"date_range": ["2025-03-10", "2025-03-01"]}}},
            "include.comparison.date_range: the end is before the start",
        ),
        (
            {"include": {"comparison": {"date_range": ["1900-01-01", "1900-01-02"]}}},
            "include.comparison.date_range[0]: '1900-01-01' is not between",
        ),
        (
            {"include": {"comparison": {"date_range": "7d"}}},
            "include.comparison.date_range: expected `array`, got `str`",
        ),
        (
            {"include": {"comparison": {"from": "2025-03-01"}}},
            "include.comparison: object contains unknown field `from`",
        ),
    ],
)
def test_mistakes_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError) as caught:
        _check(**body)
    assert message in str(caught.value)


def test_date_ranges_are_whole_days_in_the_sites_time_zone() -> None:
    assert _check(date_range="today").period.as_json() == [
        "2026-03-15T00:00:00Z",
        "2026-03-16T00:00:00Z",
    ]
    assert _check(date_range="7d").period.as_json() == [
        "2026-03-09T00:00:00Z",
        "2026-03-16T00:00:00Z",
    ]
    assert _check(date_range="month").period.start == dt.datetime(2026, 3, 1)
    berlin = dates.period(["2026-03-01", "2026-03-31"], "Europe/Berlin", NOW)
    # March 29 is the change to summer time: the last day ends at 22:00 UTC.
    assert berlin.as_json() == ["2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"]
    assert berlin.previous().end == berlin.start


def test_props_dimensions_carry_their_key_and_filters_accept_numbers() -> None:
    query = _check(dimensions=["event:props:plan"], filters=[["is", "event:props:seats", [3]]])
    assert query.dimensions[0].key == "plan"
    assert query.filters[0].values == ("3",)
    assert query.order_by == (("visitors", True),)


def test_a_comparison_names_the_period_it_compares_with() -> None:
    days = ["2026-03-01", "2026-03-03"]
    assert _check(date_range=days).comparison is None
    previous = _check(date_range=days, include={"comparison": "previous_period"}).comparison
    assert previous is not None and previous.as_json() == [
        "2026-02-26T00:00:00Z",
        "2026-03-01T00:00:00Z",
    ]
    year = _check(date_range=days, include={"comparison": "year_over_year"}).comparison
    assert year is not None and year.as_json() == ["2025-03-01T00:00:00Z", "2025-03-04T00:00:00Z"]
    custom = {"date_range": ["2025-12-24", "2025-12-26"]}
    chosen = _check(date_range=days, include={"comparison": custom}).comparison
    assert chosen is not None and chosen.as_json() == [
        "2025-12-24T00:00:00Z",
        "2025-12-27T00:00:00Z",
    ]
