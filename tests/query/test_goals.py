"""`event:goal` on both engines: page goals by their wildcard patterns, custom events by name,
and the conversion rate of either, against hand counts."""

from __future__ import annotations

import pytest

from clycyo.config.goals import MAX_PATTERN_CHARS, PageGoalStore
from clycyo.query.errors import QueryError
from clycyo.query.goals import NOT_GOALS, TRACKER_EVENTS
from clycyo.web.dashboard import panels
from tests.small_world import SmallWorld

PATTERNS = ("/blog/**", "/product/*/buy", "/a.b(c)", "/shop/*")


def _world(world: SmallWorld) -> None:
    goals = PageGoalStore(world.runtime.config)
    for pattern in PATTERNS:
        goals.add(world.site.id, pattern)
    world.send(
        world.pageview("a", 60, "/blog/one"),
        world.pageview("a", 61, "/blog/2026/two"),
        world.pageview("b", 62, "/product/shoe/buy"),
        world.pageview("c", 63, "/product/shoe/red/buy"),  # `*` stops at a /
        world.pageview("d", 64, "/"),
        world.browser("d", 65, "signup", "/"),
        world.pageview("e", 66, "/a.b(c)"),
        world.pageview("f", 67, "/aXb(c)"),  # `.` is a dot, not any character
        world.pageview("g", 68, "/blog"),  # `/blog/**` wants what follows /blog/
        world.browser("g", 69, "blog_read", "/blog/one"),  # not a pageview
        world.pageview("h", 70, "/shop/"),  # `*` matches no characters too
    )


def _goal(*names: str, op: str = "is") -> list[list[object]]:
    return [[op, "event:goal", list(names)]]


def test_page_goals_keep_the_pageviews_their_patterns_match(world: SmallWorld) -> None:
    _world(world)
    metrics = ("visitors", "events", "conversions", "conversion_rate")
    # Eight visitors (a to h); a viewed two blog posts, g only /blog (and read one, an event).
    assert world.totals(*metrics, filters=_goal("Visit /blog/**")) == [1, 2, 1, 12.5]
    assert world.totals(*metrics, filters=_goal("Visit /product/*/buy")) == [1, 1, 1, 12.5]
    assert world.totals(*metrics, filters=_goal("Visit /a.b(c)")) == [1, 1, 1, 12.5]
    assert world.totals(*metrics, filters=_goal("Visit /shop/*")) == [1, 1, 1, 12.5]
    pages = world.breakdown("event:page", "events", filters=_goal("Visit /blog/**"))
    assert pages == {"/blog/one": [1], "/blog/2026/two": [1]}
    pages = world.breakdown("event:page", "events", filters=_goal("Visit /product/*/buy"))
    assert pages == {"/product/shoe/buy": [1]}
    pages = world.breakdown("event:page", "events", filters=_goal("Visit /a.b(c)"))
    assert pages == {"/a.b(c)": [1]}


def test_a_custom_events_name_is_a_goal_as_with_event_name(world: SmallWorld) -> None:
    _world(world)
    metrics = ("visitors", "events", "conversion_rate")
    by_name = world.totals(*metrics, filters=[["is", "event:name", ["signup"]]])
    assert world.totals(*metrics, filters=_goal("signup")) == by_name == [1, 1, 12.5]
    # Either goal: a (two blog pageviews) and d (a signup).
    both = world.totals(*metrics, filters=_goal("Visit /blog/**", "signup"))
    assert both == [2, 3, 25.0]
    # Everything but the blog's pageviews: 11 events, two of them a's blog posts.
    assert world.totals("events", filters=_goal("Visit /blog/**", op="is_not")) == [9]


def test_a_page_filter_beside_a_page_goal_is_where_it_happened(world: SmallWorld) -> None:
    _world(world)
    filters = [*_goal("Visit /blog/**"), ["is", "event:page", ["/blog/one"]]]
    # The rate's visitors are those of /blog/one (a, and g's event there is no pageview).
    assert world.totals("conversions", "conversion_rate", filters=filters) == [1, 100.0]
    # So it is beside a breakdown by goal (as the registry's description of the rate says).
    rows = world.breakdown("event:goal", "conversions", "conversion_rate", filters=filters[1:])
    assert rows["Visit /blog/**"] == [1, 100.0]


@pytest.mark.parametrize(
    ("filters", "field", "words"),
    [
        (_goal("Visit /nope"), "filters[0][2][0]", "no goal 'Visit /nope'"),
        (_goal("signup", "Visit /blog/*"), "filters[0][2][1]", "no goal"),
        (_goal("pageview"), "filters[0][2][0]", "Visit /path"),
        ([["contains", "event:goal", ["Visit"]]], "filters[0][0]", "is or is_not"),
    ],
)
def test_what_is_no_goal_is_refused_naming_the_field(
    world: SmallWorld, filters: list[list[object]], field: str, words: str
) -> None:
    _world(world)
    with pytest.raises(QueryError) as refused:
        world.totals("visitors", filters=filters)
    assert refused.value.field == field
    assert "event:goal" in str(refused.value) and words in str(refused.value)


# Goals that overlap: `/**` every page, `/blog/*` and `/blog/one` some of `/blog/**`'s.
OVERLAPPING = ("/**", "/blog/*", "/blog/one", "/product/*/*")


def _overlapping(world: SmallWorld) -> list[str]:
    """The world above with goals that overlap, one visitor from a campaign; the names of every
    page goal, and the custom events'."""
    _world(world)
    goals = PageGoalStore(world.runtime.config)
    for pattern in OVERLAPPING:
        goals.add(world.site.id, pattern)
    world.send(
        world.pageview("a", 200, "/blog/one?utm_source=news"),  # a visit of its own
        world.pageview("i", 201, "/blog/one?utm_source=news"),
        world.browser("i", 202, "signup", "/blog/one"),
    )
    return [f"Visit {p}" for p in (*PATTERNS, *OVERLAPPING)] + ["signup", "blog_read"]


@pytest.mark.parametrize(
    "metrics",
    [
        ("visitors", "events", "conversion_rate"),  # the dashboard's goals panel
        ("conversions", "events", "visitors", "conversion_rate"),
    ],
)
def test_a_breakdown_by_goal_is_each_goal_filtered_alone(
    world: SmallWorld, metrics: tuple[str, ...]
) -> None:
    """One statement for all goals gives each goal the numbers of a query filtered by it alone,
    however the goals overlap (a pageview of /blog/one is in five goals' rows)."""
    names = _overlapping(world)
    page_goals = [n for n in names if n.startswith("Visit ")]
    rows = world.breakdown("event:goal", *metrics, limit=1000)
    assert len(rows[f"Visit {OVERLAPPING[0]}"]) == len(metrics)
    for name in names:
        alone = world.totals(*metrics, filters=_goal(name))
        if name in rows:
            assert rows.pop(name) == alone, name
        else:
            assert not alone[0], name  # a goal nobody reached has no row
    assert rows == {}  # every event is in the rows of the goals above, or in none
    # Page goals only, under a visit filter, as the dashboard asks: still each goal's numbers.
    news = [["is", "visit:utm_source", ["news"]]]
    rows = world.breakdown("event:goal", *metrics, filters=[*_goal(*page_goals), *news], limit=1000)
    assert set(rows) == {"Visit /**", "Visit /blog/**", "Visit /blog/*", "Visit /blog/one"}
    for name in page_goals:
        alone = world.totals(*metrics, filters=[*_goal(name), *news])
        if name in rows:
            assert rows[name] == alone, name
        else:
            assert not alone[0], name


def test_a_breakdown_by_goal_with_a_visit_column(world: SmallWorld) -> None:
    _overlapping(world)
    query = {"dimensions": ["event:goal", "visit:utm_source"], "limit": 1000}
    answer = world.query(metrics=["visitors", "events"], **query)
    rows = {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]}
    # a and i came from the newsletter to /blog/one: in every goal that page is in.
    for goal in ("Visit /**", "Visit /blog/**", "Visit /blog/*", "Visit /blog/one"):
        assert rows[(goal, "news")] == [2, 2], goal
    assert rows[("signup", "news")] == [1, 1]
    assert rows[("Visit /blog/one", "(none)")] == [1, 1]  # a's first view of it


def test_a_breakdown_by_goal_without_page_goals_is_by_name(world: SmallWorld) -> None:
    world.send(world.pageview("a", 60, "/"), world.browser("a", 61, "signup"))
    assert world.breakdown("event:goal", "visitors", "events") == {"signup": [1, 1]}


def test_money_by_goal_is_that_of_the_goals_events(world: SmallWorld) -> None:
    PageGoalStore(world.runtime.config).add(world.site.id, "/**")
    world.send(
        world.pageview("a", 60, "/"),
        world.browser("a", 61, "signup"),
        world.payment(62, "30.00", "o1", visitor_id="a"),
    )
    by_goal = world.breakdown("event:goal", "revenue", "orders")
    assert by_goal == {"payment": [30.0, 1]}
    assert world.totals("revenue", filters=_goal("Visit /**")) == [0]


def test_a_page_goal_at_the_pattern_limit_is_one(world: SmallWorld) -> None:
    """A pattern of the most characters a goal may have, all of them special to a regular
    expression (each escaped), is saved, named and matched like any other."""
    pattern = "/" + "(.)*" * ((MAX_PATTERN_CHARS - 1) // 4)
    pattern += "x" * (MAX_PATTERN_CHARS - len(pattern))
    page = pattern.replace("*", "")
    PageGoalStore(world.runtime.config).add(world.site.id, pattern)
    world.send(world.pageview("a", 60, page), world.pageview("b", 61, page + "/more"))
    assert world.totals("visitors", "events", filters=_goal(f"Visit {pattern}")) == [1, 1]


def test_identify_and_the_trackers_own_events_are_no_goal(world: SmallWorld) -> None:
    """A breakdown by goal lists the goals only, as the dashboard's goals panel does: page goals
    and custom events, not identify nor what the tracker sends on its own."""
    PageGoalStore(world.runtime.config).add(world.site.id, "/pricing")
    world.send(
        world.pageview("a", 60, "/pricing"),
        world.identify("a", "u1", 61),
        *(world.browser("a", 62 + i, name, "/pricing") for i, name in enumerate(TRACKER_EVENTS)),
        world.browser("a", 70, "signup", "/pricing"),
        world.server(71, "invoice.paid", user_id="u1"),
    )
    rows = world.breakdown("event:goal", "visitors", "events")
    assert rows == {"Visit /pricing": [1, 1], "signup": [1, 1], "invoice.paid": [1, 1]}
    for index, name in enumerate(NOT_GOALS):
        with pytest.raises(QueryError) as refused:
            world.totals("visitors", filters=_goal("signup", name))
        assert refused.value.field == "filters[0][2][1]", name
        assert f"event:goal: {name!r} is no goal" in str(refused.value)
        # event:name keeps them, as it keeps any event.
        assert world.totals("events", filters=[["is", "event:name", [name]]]) == [1], index


def test_the_goals_panel_leaves_out_the_events_that_are_no_goal() -> None:
    goals_tab = panels.BY_KEY["goals"].tabs[0]
    assert goals_tab.fixed == (("is_not", "event:name", ("pageview", *NOT_GOALS)),)
