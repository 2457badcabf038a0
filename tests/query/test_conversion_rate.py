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


def test_by_visit_source_a_converter_counts_where_they_visited(world: SmallWorld) -> None:
    world.send(
        # a comes from Google and signs in; hours later the backend reports a's signup, which
        # is outside any visit.
        world.pageview("a", 60, "/", referrer="https://www.google.com/"),
        world.identify("a", "user-a", 61),
        world.server(300, "signup", user_id="user-a"),
        # b and c come with no referrer; c signs up in that visit.
        world.pageview("b", 62, "/"),
        world.pageview("c", 63, "/"),
        world.browser("c", 64, "signup", "/"),
    )
    goal = [["is", "event:name", ["signup"]]]
    rows = world.breakdown("visit:source", "conversions", "conversion_rate", filters=goal)
    # a's signup is in the row without a source (it has no visit), but a visited only from
    # Google: a counts in that row's conversions, not in its rate; c is one of its two visitors.
    assert rows["(none)"] == [2, 50.0]
    assert rows["Google"] == [0, 0.0]


def test_a_last_touch_filter_keeps_converters_among_its_own_visitors(world: SmallWorld) -> None:
    world.send(
        # a came from Google the day before; today the backend reports a's signup, and then a
        # comes from Hacker News: today a's visits were last touched by Hacker News, not Google.
        world.pageview("a", -600, "/", referrer="https://www.google.com/"),
        world.identify("a", "user-a", -599),
        world.server(60, "signup", user_id="user-a"),
        world.pageview("a", 120, "/", referrer="https://news.ycombinator.com/"),
        # b comes from Google today and does not sign up.
        world.pageview("b", 90, "/", referrer="https://www.google.com/"),
    )
    google = [["is", "last_touch:source", ["Google"]]]
    goal = [["is", "event:name", ["signup"]], *google]
    assert world.totals("visitors", filters=google) == [1]  # b
    # a's signup was last touched by Google, so it is a conversion, but a is not among the
    # visitors Google last touched today: the rate is b's, 0 %.
    assert world.totals("conversions", "conversion_rate", filters=goal) == [1, 0.0]
    signup = [["is", "event:name", ["signup"]]]
    rows = world.breakdown("last_touch:source", "conversions", "conversion_rate", filters=signup)
    assert rows == {"Google": [1, 0.0], "Hacker News": [0, 0.0]}


def test_with_a_page_a_goal_is_rated_among_that_pages_visitors(world: SmallWorld) -> None:
    world.send(
        # a, b and c view /pricing (a and b come from Google); a signs up there. d signs up on
        # the home page; e (from Google too) and d never view /pricing.
        world.pageview("a", 60, "/pricing", referrer="https://www.google.com/"),
        world.browser("a", 61, "signup", "/pricing"),
        world.pageview("b", 62, "/pricing", referrer="https://www.google.com/"),
        world.pageview("c", 63, "/pricing"),
        world.pageview("d", 64, "/"),
        world.browser("d", 65, "signup", "/"),
        world.pageview("e", 66, "/", referrer="https://www.google.com/"),
    )
    goal = ["is", "event:name", ["signup"]]
    pricing = ["is", "event:page", ["/pricing"]]
    # The goal on /pricing: a, out of the three who viewed it (not out of all five).
    assert world.totals("conversions", "conversion_rate", filters=[goal, pricing]) == [1, 33.33]
    rows = world.breakdown(
        "visit:source", "conversions", "conversion_rate", filters=[goal, pricing]
    )
    assert rows == {"Google": [1, 50.0], "(none)": [0, 0.0]}  # a of a and b; c
    contains = ["contains", "event:page", ["pric"]]
    assert world.totals("conversion_rate", filters=[goal, contains]) == [33.33]
    # Without named events the pageview is the conversion: the share of all visitors who viewed it.
    assert world.totals("conversions", "conversion_rate", filters=[pricing]) == [3, 60.0]
    assert world.totals("conversion_rate", filters=[goal]) == [40.0]
