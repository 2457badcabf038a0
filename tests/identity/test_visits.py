"""Visits: 30 minutes of inactivity per device, entry and exit, bounce, duration, acquisition."""

from __future__ import annotations

from tests.small_world import SmallWorld

VISIT_METRICS = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration")


def test_thirty_minutes_of_inactivity_end_a_visit(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/", referrer="https://www.google.com/"),
        world.pageview("v1", 70, "/pricing"),
        world.pageview("v1", 99, "/docs"),  # 29 minutes later: same visit
        world.pageview("v1", 130, "/blog"),  # 31 minutes later: a new visit, direct
        world.pageview("v2", 200, "/pricing", referrer="https://news.ycombinator.com/"),
    )
    assert world.totals(*VISIT_METRICS) == [2, 3, 5, 66.7, (39 * 60 + 0 + 0) // 3]
    entries = world.breakdown("visit:entry_page", "visits")
    assert entries == {"/": [1], "/blog": [1], "/pricing": [1]}
    exits = world.breakdown("visit:exit_page", "visits")
    assert exits == {"/docs": [1], "/blog": [1], "/pricing": [1]}
    sources = world.breakdown("visit:source", "visits", "visitors")
    assert sources == {"Google": [1, 1], "(none)": [1, 1], "Hacker News": [1, 1]}
    channels = world.breakdown("visit:channel", "visits")
    assert channels["Direct"] == [1] and channels["Organic Search"] == [1]


def test_a_visit_takes_its_acquisition_from_its_first_event_even_when_it_arrives_late(
    world: SmallWorld,
) -> None:
    world.send(world.pageview("v1", 65, "/pricing"), world.pageview("v1", 70, "/docs"))
    assert world.breakdown("visit:entry_page", "visits") == {"/pricing": [1]}
    # The landing pageview, from an ad, reaches the server last.
    world.send(world.pageview("v1", 60, "/", referrer="https://www.bing.com/"))
    assert world.breakdown("visit:entry_page", "visits") == {"/": [1]}
    assert world.breakdown("visit:source", "visitors", "visits") == {"Bing": [1, 1]}
    assert world.totals("visits", "pageviews", "visit_duration") == [1, 3, 600]


def test_one_pageview_with_only_passive_events_is_a_bounce_an_interaction_is_not(
    world: SmallWorld,
) -> None:
    world.send(
        world.pageview("bouncer", 60, "/"),
        world.browser("bouncer", 61, "engagement", props={"engaged_ms": 40_000}),
        world.browser("bouncer", 61, "web_vital", props={"metric": "LCP", "value": 900}),
        world.pageview("clicker", 60, "/"),
        world.browser("clicker", 62, "outbound_click", props={"url": "https://x.io"}),
    )
    assert world.totals("visits", "bounce_rate", "visit_duration") == [2, 50.0, 90]


def test_a_long_read_keeps_its_visit_through_the_tracker_session(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/guide", session_id="s1"),
        # Sent as the page is left, 45 minutes later, with the page's own session id.
        world.browser(
            "v1", 105, "engagement", "/guide", session_id="s1", props={"engaged_ms": 2_700_000}
        ),
    )
    assert world.totals("visits", "visit_duration", "bounce_rate") == [1, 45 * 60, 100.0]


def test_passive_events_alone_open_no_visit(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/"),
        world.browser("v1", 200, "web_vital", props={"metric": "CLS", "value": 0.1}),
    )
    assert world.totals("visits", "events") == [1, 2]


def test_server_events_join_the_visit_in_progress_and_change_nothing(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/", referrer="https://www.google.com/"),
        world.server(65, "signup", visitor_id="v1"),
        world.server(300, "renewal", visitor_id="v1"),  # long after: outside any visit
    )
    assert world.totals("visits", "visit_duration", "bounce_rate") == [1, 0, 100.0]
    by_source = world.breakdown(
        "visit:source", "events", filters=[["is_not", "event:name", ["pageview"]]]
    )
    assert by_source == {"Google": [1], "(none)": [1]}
    events = {e["name"]: e for e in _timeline(world, "v1")}
    assert "visit_id" in events["signup"] and "visit_id" not in events["renewal"]
    assert events["signup"]["visit_id"] == events["pageview"]["visit_id"]


def _timeline(world: SmallWorld, person: str) -> list[dict[str, object]]:
    from clycyo.query import api

    found = api.timeline(world.runtime, world.site, person)
    assert found is not None
    return list(found["events"])


def test_visits_continue_across_a_restart(world: SmallWorld) -> None:
    world.send(world.pageview("v1", 60, "/"), world.pageview("v1", 70, "/pricing"))
    world.reopen()
    world.send(world.pageview("v1", 80, "/docs"))
    assert world.totals("visits", "pageviews", "visit_duration", "bounce_rate") == [1, 3, 1200, 0.0]
    assert world.breakdown("visit:exit_page", "visits") == {"/docs": [1]}


def test_compaction_folds_cancelled_states_and_changes_no_answer(world: SmallWorld) -> None:
    from clycyo.identity.compaction import compact

    for minute in (60, 61, 62, 63):  # four batches: three states of the visit are cancelled
        world.send(world.pageview("v1", minute, f"/p{minute}"))
    store = world.runtime.store
    before = world.query(metrics=list(VISIT_METRICS), dimensions=["visit:exit_page"])
    assert store.execute("SELECT count(*) FROM visits WHERE sign = -1") == [(3,)]
    assert compact(store) == 6
    assert store.execute("SELECT count(*), sum(sign) FROM visits") == [(1, 1)]
    assert world.query(metrics=list(VISIT_METRICS), dimensions=["visit:exit_page"]) == before
    assert before["results"][0]["dimensions"] == ["/p63"]


def test_an_engagement_report_counts_a_day_at_most_and_no_number_counts_nothing(
    world: SmallWorld,
) -> None:
    """`engaged_ms` is the client's to set: values no 64-bit sum holds must not stop the writer."""
    world.send(
        world.pageview("v1", 60, "/"),
        world.browser("v1", 61, "engagement", props={"engaged_ms": "inf"}),
        world.browser("v1", 62, "engagement", props={"engaged_ms": "1e300"}),
        world.browser("v1", 63, "engagement", props={"engaged_ms": 9e18}),
        world.browser("v1", 64, "engagement", props={"engaged_ms": "nan"}),
        world.browser("v1", 65, "engagement", props={"engaged_ms": -5}),
        world.browser("v1", 66, "engagement", props={"engaged_ms": 1500}),
    )
    world.send(world.pageview("v1", 70, "/later"))
    assert world.totals("visits", "pageviews", "events") == [1, 2, 8]
    day_ms = 24 * 3600 * 1000
    assert world.runtime.store.execute(
        "SELECT engaged_ms FROM visits v WHERE sign = 1 AND NOT EXISTS (SELECT 1 FROM visits c"
        " WHERE c.visit_id = v.visit_id AND c.state = v.state AND c.sign = -1)"
    ) == [(2 * day_ms + 1500,)]
