"""Every report on both engines, in a site time zone with a half-hour offset: the answers must
be the same, whatever they are (the other suites state expected values in UTC)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from clycyo.identity import listing
from clycyo.identity.timeline import history, timeline
from clycyo.query import funnels, journeys, props, realtime, retention, vitals, why
from tests.engines import ENGINES, storage_url
from tests.small_world import IPHONE, SmallWorld

pytest.importorskip("chdb")
ZONE = "Asia/Kolkata"  # UTC+5:30: hour buckets and weeks differ from UTC's


def _visits(world: SmallWorld) -> None:
    day = 24 * 60
    for weeks_ago in (2, 1, 0):
        for visitor in ("a", "b", "c")[: weeks_ago + 1]:
            base = -weeks_ago * 7 * day + ord(visitor)
            world.send(
                world.pageview(visitor, base, "/", referrer="https://www.google.com/"),
                world.pageview(visitor, base + 1, "/pricing"),
                world.pageview(visitor, base + 1.5, "/pricing"),
                world.pageview(visitor, base + 2, "/checkout"),
            )
    world.send(
        world.browser("a", 100, "web_vital", "/", props={"metric": "LCP", "value": 1800}),
        world.browser("a", 100, "web_vital", "/", props={"metric": "INP", "value": 600}),
        world.browser("b", 100, "web_vital", "/pricing", props={"metric": "LCP", "value": 2500}),
        world.browser("b", 99, "rage_click", "/checkout", props={"selector": "#pay"}),
        world.browser("c", 99, "js_error", "/checkout", props={"message": "TypeError: x"}),
        world.browser("a", 99.5, "signup", "/pricing", props={"plan": "pro", "seats": 3}),
        world.identify("a", "ann", 99.6),
        world.pageview("phone", 200, "/", user_agent=IPHONE),
        world.identify("phone", "ann", 201),
        # The browser's copy of an order, then the server's: the server's wins.
        world.payment(102, "30.00", "o1", origin="browser", visitor_id="a"),
        world.payment(103, "30.00", "o1", user_id="ann"),
        world.payment(160, "-5.00", "r1", name="refund", user_id="ann"),
        world.payment(104, "12.00", "o2", visitor_id="b"),
    )


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        # Event ids are made per world (random); everything else must match.
        return {
            k: _normal(v)
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if k != "event_id"
        }
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return round(float(value), 4)
    if hasattr(value, "__dataclass_fields__"):
        return _normal(vars(value))
    return value


def _reports(world: SmallWorld) -> dict[str, Callable[[], Any]]:
    store, site = world.runtime.store, world.site
    first = (world.start - dt.timedelta(days=21)).date().isoformat()
    span = [first, world.day]
    steps = [{"page": "/"}, {"page": "/pricing"}, {"name": "signup"}]
    funnel = {"site": world.domain, "steps": steps, "date_range": span, "window": "1h"}
    moment = world.start + dt.timedelta(minutes=101)
    return {
        "query": lambda: [
            world.query(
                metrics=["visitors", "visits", "pageviews"], dimensions=[dim], date_range=span
            )
            for dim in ("time:hour", "time:day", "time:week", "visit:source", "event:props:plan")
        ],
        "money": lambda: world.query(
            metrics=["revenue", "orders", "refunds", "conversions"],
            dimensions=["first_touch:channel"],
            include={"comparison": "previous_period"},
        ),
        "events": lambda: world.query(metrics=["events"], dimensions=["event:name"]),
        "funnel": lambda: funnels.run_funnel(store, site, funnel),
        "funnel_persons": lambda: funnels.funnel_persons(
            store, site, funnel, step=2, dropped=True, limit=10
        ),
        "retention": lambda: retention.run_retention(
            store, site, {"site": world.domain, "date_range": span, "weeks": 3}
        ),
        "journeys": lambda: journeys.run_journeys(
            store, site, {"site": world.domain, "date_range": span, "start_page": "/"}
        ),
        "realtime": lambda: realtime.run_realtime(store, site, moment),
        "vitals": lambda: vitals.percentiles(store, site, span),
        "vitals_site": lambda: vitals.percentiles(store, site, span, by_page=False),
        "why": lambda: why.count_why(
            store,
            site,
            date_range=span,
            filters=[],
            attempt=why.Attempt("pageview", "/checkout"),
            payment_event="payment",
        ),
        "props": lambda: props.prop_keys(store, site, name="signup", date_range=span),
        # Events at the same moment are ordered by their (random) ids: compare them sorted.
        "timeline": lambda: sorted(
            map(repr, _normal((timeline(store, site.id, "ann") or {"events": []})["events"]))
        ),
        "persons": lambda: [
            listing.list_persons(store, site.id, site.currency, listing.Listing(**wanted))
            for wanted in (
                {"identified_only": False},
                {"identified_only": False, "prefix": "a"},
                {"sort": "revenue", "customers_only": True},
                {"identified_only": False, "limit": 1},
            )
        ],
        "history": lambda: history(store, site.id, "ann"),
    }


def test_every_report_gives_the_same_answer_on_both_engines(
    tmp_path: Path, chdb_folder: Path
) -> None:
    answers: list[dict[str, Any]] = []
    for engine in ENGINES:
        world = SmallWorld(tmp_path / engine, storage=storage_url(engine, chdb_folder))
        try:
            world.runtime.config.update_site(world.site.id, timezone=ZONE)
            world.runtime.directory.clear()
            _visits(world)
            answers.append({name: _normal(run()) for name, run in _reports(world).items()})
        finally:
            world.close()
    duck, house = answers
    for name in duck:
        assert house[name] == duck[name], name
    assert duck["funnel"]["steps"][0]["visitors"] > 0
    assert duck["money"]["results"]
    assert duck["history"]["visits"] > 0 and duck["history"]["first_visit"]["channel"]
    assert duck["persons"][0]["persons"] and duck["persons"][2]["persons"]
