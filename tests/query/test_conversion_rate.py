"""The conversion rate is the share of the period's visitors who converted: a person who did the
goal without visiting in the period (a renewal a payment provider reported) counts in
`conversions`, not in the rate's numerator, so the rate is at most 100 %."""

from __future__ import annotations

import datetime as dt

from clycyo.query import runner, spec
from tests.small_world import SmallWorld

GOALS_FILTER = ["is_not", "event:name", ["pageview", "identify", "engagement"]]


def _world(world: SmallWorld) -> None:
    world.send(
        world.pageview("a", 60, "/"),
        world.pageview("b", 61, "/"),
        world.pageview("c", 62, "/pricing"),
        world.pageview("d", 63, "/"),
        world.payment(64, "30.00", "o1", visitor_id="a"),
        # Renewals reported by the payment provider: persons with no visit in the period.
        world.payment(65, "30.00", "o2", user_id="renewing-1"),
        world.payment(66, "30.00", "o3", user_id="renewing-2"),
    )


def test_payers_without_a_visit_are_not_in_the_rate(world: SmallWorld) -> None:
    _world(world)
    metrics = ("visitors", "events", "conversions", "conversion_rate")
    # Persons who paid (the ledger), and persons with a `payment` event.
    assert world.totals(*metrics) == [4, 7, 3, 25.0]
    goal = [["is", "event:name", ["payment"]]]
    assert world.totals(*metrics, filters=goal) == [3, 3, 3, 25.0]


def test_the_goals_breakdown_divides_its_visitors_by_the_periods(world: SmallWorld) -> None:
    _world(world)
    answer = world.query(
        metrics=["visitors", "events", "conversion_rate"],
        dimensions=["event:name"],
        filters=[GOALS_FILTER],
    )
    assert answer["results"] == [{"dimensions": ["payment"], "metrics": [3, 3, 25.0]}]


def test_by_time_a_payer_counts_where_they_visited(world: SmallWorld) -> None:
    _world(world)
    # "e" visits the day before and pays (the server reports it) on the day, with no visit.
    world.send(
        world.pageview("e", -60, "/"),
        world.payment(70, "30.00", "o4", visitor_id="e"),
    )
    before = (world.start.date() - dt.timedelta(days=1)).isoformat()
    answer = world.query(
        metrics=["visitors", "conversions", "conversion_rate"],
        dimensions=["time:day"],
        date_range=[before, world.day],
    )
    assert [row["metrics"] for row in answer["results"]] == [[1, 0, 0.0], [4, 4, 25.0]]


def test_approximate_counting_keeps_the_payers_without_a_visit_out(world: SmallWorld) -> None:
    _world(world)
    for dimensions in ([], ["event:name"], ["time:day"]):
        body = {"site": world.domain, "metrics": ["visitors", "conversion_rate"]}
        body |= {"dimensions": dimensions, "date_range": [world.day, world.day]}
        query = spec.check(spec.decode(body), timezone="UTC")
        answer = runner.run_checked(world.runtime.store, world.site, query, approximate=True)
        assert answer.meta["approximate"] is True
        rates = {tuple(row["dimensions"]): row["metrics"][1] for row in answer.results}
        assert max(rates.values()) == 25.0, dimensions
