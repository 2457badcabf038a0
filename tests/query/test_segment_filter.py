"""The `segment` filter of the query API on both engines: `["is", "segment", [ID]]` answers as
the segment's own filters would, beside other filters and in a breakdown; an id of no segment
of the query's site (another site's too), another operator or no id is refused naming the
filter; a segment whose goal is gone is refused naming the segment's own filter."""

from __future__ import annotations

from typing import Any

import pytest

from clycyo.config.goals import PageGoalStore
from clycyo.config.segments import SegmentStore
from clycyo.query import api
from clycyo.query.errors import QueryError
from tests.small_world import SmallWorld

GOOGLE_PRICING = [["is", "visit:source", ["Google"]], ["is", "event:page", ["/pricing"]]]


def _visits(world: SmallWorld) -> None:
    google = "https://www.google.com/"
    world.send(
        world.pageview("a", 10, "/", referrer=google),
        world.pageview("a", 11, "/pricing"),
        world.pageview("b", 20, "/pricing"),
        world.pageview("c", 30, "/", referrer=google),
        world.pageview("d", 40, "/", referrer=google),
        world.pageview("d", 41, "/pricing"),
        world.pageview("d", 42, "/pricing"),
    )


def _segment(world: SmallWorld, name: str, filters: list[list[Any]], site_id: int = 0) -> int:
    store = SegmentStore(world.runtime.config)
    return store.add(site_id or world.site.id, name, filters, created_by="cli").id


def test_a_segment_answers_as_its_filters(world: SmallWorld) -> None:
    _visits(world)
    segment = _segment(world, "Google on pricing", GOOGLE_PRICING)
    metrics = ("visitors", "pageviews", "visits")
    by_segment = world.totals(*metrics, filters=[["is", "segment", [segment]]])
    assert by_segment == world.totals(*metrics, filters=GOOGLE_PRICING) == [2, 3, 2]
    assert world.totals(*metrics) == [4, 7, 4]
    # Beside another filter, all hold; its id may be given as text.
    both = [["is", "segment", [str(segment)]], ["is", "visit:entry_page", ["/"]]]
    assert world.totals("visitors", filters=both) == [2]
    assert world.totals("visitors", filters=[*both[:1], ["is_not", "event:page", ["/"]]]) == [2]
    pages = world.breakdown("visit:source", "pageviews", filters=[["is", "segment", [segment]]])
    assert pages == {"Google": [3]}


def test_what_names_no_segment_of_the_site_is_refused(world: SmallWorld) -> None:
    _visits(world)
    mine = _segment(world, "Google", GOOGLE_PRICING[:1])
    other = world.runtime.config.add_site("other.test").site.id
    theirs = _segment(world, "Theirs", GOOGLE_PRICING[:1], other)
    page = ["is", "event:page", ["/"]]
    for filters, reason in (
        ([page, ["is", "segment", [theirs]]], f"filters[1]: no segment {theirs} on this site"),
        ([["is", "segment", [999]]], "filters[0]: no segment 999 on this site"),
        ([["is_not", "segment", [mine]]], "filters[0][0]: a segment filter's operator is is"),
        ([["is", "segment", []]], "filters[0][2]: expected one segment id, such as [3]"),
        ([["is", "segment", [mine, mine]]], "filters[0][2]: expected one segment id"),
        ([["is", "segment", ["abc"]]], "filters[0][2]: not a segment id: 'abc'"),
        ([["is", "segment", [0]]], "filters[0][2]: not a segment id: 0"),
        ([["is", "segment", [True]]], "filters[0][2]: expected one segment id"),
    ):
        with pytest.raises(QueryError) as refused:
            world.query(metrics=["visitors"], filters=filters)
        assert str(refused.value).startswith(reason), filters


def test_a_segment_whose_goal_is_gone_names_its_filter(world: SmallWorld) -> None:
    _visits(world)
    goals = PageGoalStore(world.runtime.config)
    goal = goals.add(world.site.id, "/pricing")
    segment = SegmentStore(world.runtime.config).add(
        world.site.id,
        "Saw pricing",
        [["is", "event:goal", ["Visit /pricing"]]],
        created_by="cli",
        page_goals={"/pricing"},
    )
    filters = [["is", "segment", [segment.id]]]
    assert world.totals("visitors", filters=filters) == [3]
    goals.delete(world.site.id, goal.id)
    with pytest.raises(QueryError) as refused:
        world.query(metrics=["visitors"], filters=filters)
    assert str(refused.value).startswith(f"filters[0]: segment {segment.id}'s filters[0][2]")


def test_a_filter_beside_a_segment_is_refused_at_the_place_it_was_sent(world: SmallWorld) -> None:
    _visits(world)
    segment = _segment(world, "Google on pricing", GOOGLE_PRICING)
    page = ["is", "event:page", ["/"]]
    for filters, reason in (
        # Two filters sent: the second is filters[1], not its place after the segment's two.
        ([["is", "segment", [segment]], ["is", "visit:planet", ["Mars"]]], "filters[1][1]"),
        ([["is", "segment", [segment]], ["like", "event:page", ["/"]]], "filters[1][0]"),
        ([page, ["is", "segment", [segment]], ["is", "visit:source", []]], "filters[2][2]"),
    ):
        with pytest.raises(QueryError) as refused:
            world.query(metrics=["visitors"], filters=filters)
        assert str(refused.value).startswith(f"{reason}: "), str(refused.value)


def test_the_other_reports_refuse_a_segment_saying_where_it_is_taken(world: SmallWorld) -> None:
    _visits(world)
    segment = ["is", "segment", [_segment(world, "Google", GOOGLE_PRICING[:1])]]
    site, runtime = world.site, world.runtime
    steps = [{"page": "/"}, {"page": "/pricing"}]
    for report, body, field in (
        (api.funnel, {"steps": steps, "filters": [segment]}, "filters[0][1]"),
        (api.funnel, {"steps": [{"page": "/", "filters": [segment]}, steps[1]]}, "steps[0]"),
        (api.cohorts, {"filters": [segment]}, "filters[0][1]"),
        (api.paths, {"filters": [["is", "event:page", ["/"]], segment]}, "filters[1][1]"),
    ):
        with pytest.raises(QueryError) as refused:
            report(runtime, site, {"site": site.domain, **body})
        reason = str(refused.value)
        assert reason.startswith(field) and "applied by /api/v1/query only" in reason, reason
