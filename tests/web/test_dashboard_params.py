"""The view state in a dashboard URL: periods, comparison, filters, and their links."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import pytest

from clycyo.web.dashboard.panels import PROPERTY_KEY
from clycyo.web.dashboard.params import (
    Filter,
    OutOfRange,
    ViewState,
    parse_filter,
    period_for,
    view_state,
)

TODAY = dt.date(2026, 11, 26)
METRICS = {"visitors", "revenue"}


def state_of(pairs: list[tuple[str, str]]) -> ViewState:
    return view_state(dict(pairs), pairs, TODAY, METRICS)


def test_periods_and_the_previous_period() -> None:
    seven = period_for("7d", TODAY)
    assert (seven.first, seven.last, seven.interval) == (dt.date(2026, 11, 20), TODAY, "day")
    assert seven.previous().date_range() == ["2026-11-13", "2026-11-19"]
    assert period_for("today", TODAY).interval == "hour"
    assert period_for("last_month", TODAY).date_range() == ["2026-10-01", "2026-10-31"]
    custom = period_for("custom", TODAY, "2026-11-10", "2026-11-01")  # reversed: put in order
    assert custom.date_range() == ["2026-11-01", "2026-11-10"]
    assert period_for("custom", TODAY, "nonsense", "").key == "30d"
    assert period_for("12mo", TODAY).interval == "week"


def test_filters_parse_strictly() -> None:
    assert parse_filter("is,visit:source,Google, Inc.") == Filter(
        "is", "visit:source", "Google, Inc."
    )
    assert parse_filter("contains,event:props:plan,team") is not None
    for bad in (
        "is,visit:source,",
        "drop,visit:source,x",
        "is,visit:source;--,x",
        "is,source,x",
        "is",
        "is,event:props:plan\n,team",  # `$` let a line break through before the end
        "is,visit:source\n,x",
    ):
        assert parse_filter(bad) is None, bad
    assert PROPERTY_KEY.match("plan") and not PROPERTY_KEY.match("plan\n")


def test_state_round_trips_through_its_query_string() -> None:
    state = state_of(
        [
            ("period", "7d"),
            ("compare", "off"),
            ("f", "is,visit:country,DE"),
            ("f", "bogus"),
            ("metric", "revenue"),
            ("funnel", "3"),
        ]
    )
    assert state.filters == (Filter("is", "visit:country", "DE"),)
    assert state.compare == "off" and not state.comparing
    assert state.metric == "revenue"
    again = state_of(parse_qsl(state.params()))
    assert again == state


def test_the_comparison_is_the_previous_period_a_year_before_or_none() -> None:
    assert state_of([]).compare == "previous" and state_of([]).comparing
    year = state_of([("period", "7d"), ("compare", "year")])
    assert year.compare == "year" and "compare=year" in year.params()
    assert state_of(parse_qsl(year.params())) == year
    assert "compare=year" in year.with_filter(Filter("is", "visit:country", "DE"))
    assert state_of([("compare", "off")]).compared_period() is None
    assert state_of([("compare", "sometime")]).compare == "previous"  # unknown: the default
    assert "compare" not in state_of([("compare", "previous")]).params()
    leap = [("period", "custom"), ("from", "2028-02-01"), ("to", "2028-02-29")]
    before = state_of([*leap, ("compare", "year")]).compared_period()
    assert before is not None and (before.first, before.last) == (
        dt.date(2027, 2, 1),
        dt.date(2027, 2, 28),
    )


def test_a_custom_comparison_carries_its_days() -> None:
    pairs = [("compare", "custom"), ("compare_from", "2025-12-26"), ("compare_to", "2025-12-24")]
    custom = state_of(pairs)
    compared = custom.compared_period()
    assert compared is not None and compared.date_range() == ["2025-12-24", "2025-12-26"]
    assert "compare=custom&compare_from=2025-12-24&compare_to=2025-12-26" in custom.params()
    assert state_of(parse_qsl(custom.params())) == custom
    # Without its days (or with a day that is none) it is the default.
    assert state_of([("compare", "custom")]).compare == "previous"
    broken = [("compare", "custom"), ("compare_from", "2025-12-24"), ("compare_to", "soon")]
    assert state_of(broken).compare == "previous"
    with pytest.raises(OutOfRange, match="compare_from: a day between 1920-01-01"):
        state_of([("compare", "custom"), ("compare_from", "1900-01-01"), *pairs[2:]])


def test_adding_a_filter_replaces_one_on_the_same_dimension() -> None:
    state = state_of([("f", "is,visit:country,DE"), ("f", "is,event:page,/pricing")])
    link = state.with_filter(Filter("is", "visit:country", "FR"))
    assert "DE" not in link and "FR" in link and "pricing" in link
    assert "country" not in state.without_filter(state.filters[0])
    assert state_of([("metric", "drop table")]).metric == "visitors"


def test_with_a_goal_the_chart_defaults_to_its_conversions() -> None:
    def of(pairs: list[tuple[str, str]]) -> ViewState:
        return view_state(dict(pairs), pairs, TODAY, METRICS | {"conversions"})

    goal = ("f", "is,event:name,signup")
    state = of([goal])
    assert state.metric == "conversions"
    assert "metric" not in dict(parse_qsl(state.params()))
    # Removing the goal puts a chart left at its default back to visitors ...
    plain = of(parse_qsl(state.without_filter(state.filters[0])))
    assert plain.metric == "visitors" and "metric" not in state.without_filter(state.filters[0])
    # ... and adding one moves it to conversions; a chart someone chose stays as chosen.
    assert of(parse_qsl(plain.with_filter(Filter("is", "event:name", "signup")))).metric == (
        "conversions"
    )
    chosen = of([goal, ("metric", "visitors")])
    assert chosen.metric == "visitors"
    assert dict(parse_qsl(chosen.params()))["metric"] == "visitors"
    assert of(parse_qsl(chosen.without_filter(chosen.filters[0]))).metric == "visitors"
    assert of([("f", "is_not,event:name,signup")]).metric == "visitors"
