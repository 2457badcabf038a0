"""The demo world: two months of a small SaaS whose checkout fails for reasons the browser saw.

The dashboard's default view compares the last 30 days with the 30 before, and its "why" report
compares paid and failed checkout attempts; both need the world to provide for them.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from clycyo.cli import main
from clycyo.config.annotations import AnnotationStore
from clycyo.config.funnels import FunnelStore
from clycyo.config.store import ConfigStore
from clycyo.demo.send import send_world
from clycyo.demo.setup import (
    CHECKOUT_FUNNEL,
    DEMO_ANNOTATIONS,
    DEMO_DOMAIN,
    ensure_checkout_funnel,
    prepare_demo,
)
from clycyo.demo.world import DAY_MS, DEFAULT_DAYS, World
from tests.serverproc import ServerProcess, Site

END_MS = 1_795_000_000_000  # a fixed "now", so the world is the same on every run
Event = dict[str, Any]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    world = World("demo.test", days=DEFAULT_DAYS, visitors_per_day=60, seed=7, end_ms=END_MS)
    return list(world.events())


def _in(events: list[Event], days_ago_from: int, days_ago_to: int) -> list[Event]:
    low, high = END_MS - days_ago_from * DAY_MS, END_MS - days_ago_to * DAY_MS
    return [e for e in events if low <= int(e["timestamp"]) < high]


def _revenue(events: list[Event]) -> float:
    return sum(float(e["revenue"]["amount"]) for e in events if "revenue" in e)


@pytest.fixture(scope="module")
def sent(shared_server: ServerProcess) -> Site:
    """A month of a smaller world, sent through the collect API to a site of its own."""
    site = shared_server.add_site()
    accepted, rejected = send_world(
        site.url, site.site, site.secret_key, days=30, visitors_per_day=40, progress=False
    )
    assert accepted > 10_000 and rejected == 0
    site.events(limit="1")  # returns once everything acknowledged is in the store
    return site


def _by(site: Site, metric: str, *dimensions: str) -> dict[tuple[str, ...], float]:
    """`metric` by `dimensions` over all the world's history, through the query API."""
    spec = {"site": site.site, "metrics": [metric], "dimensions": list(dimensions)}
    status, answer = site.post("/api/v1/query", {**spec, "date_range": "365d"}, secret=True)
    assert status == 200, answer
    return {tuple(r["dimensions"]): float(r["metrics"][0]) for r in answer["results"]}


def test_two_months_whose_halves_compare_like_a_going_business(events: list[Event]) -> None:
    assert DEFAULT_DAYS >= 60
    assert all(int(e["timestamp"]) <= END_MS for e in events)
    pageviews = [e for e in events if e.get("type") == "pageview"]
    assert _in(pageviews, 60, 59), "traffic starts 60 days back"
    before, last = _in(pageviews, 60, 30), _in(pageviews, 30, 0)
    # Traffic grows a little; no period is compared with an almost empty one.
    assert 1.0 < len(last) / len(before) < 1.5
    # Customers from before the window renew in both periods, so revenue grows, not explodes.
    assert 1.0 < _revenue(_in(events, 30, 0)) / _revenue(_in(events, 60, 30)) < 1.6


def test_checkouts_pay_or_fail_with_browser_friction(events: list[Event]) -> None:
    by_session: dict[str, list[Event]] = collections.defaultdict(list)
    for event in events:
        if "session_id" in event:
            by_session[str(event["session_id"])].append(event)
    outcomes: dict[bool, collections.Counter[str]] = {
        True: collections.Counter(),
        False: collections.Counter(),
    }
    for visit in by_session.values():
        if not any(str(e.get("url", "")).endswith("/checkout") for e in visit):
            continue
        # A paying visitor is identified in the checkout's visit (then the server bills).
        found = outcomes[any(e.get("type") == "identify" for e in visit)]
        found["attempts"] += 1
        names = {str(e.get("name")) for e in visit}
        found["js_error"] += "js_error" in names
        found["rage_click"] += any(
            e.get("name") == "rage_click" and str(e["url"]).endswith("/checkout") for e in visit
        )
        found["poor_inp"] += any(
            e.get("name") == "web_vital"
            and (e["props"]["metric"], e["props"]["rating"]) == ("INP", "poor")
            for e in visit
        )
    paid, failed = outcomes[True], outcomes[False]
    assert paid["attempts"] > 50 and failed["attempts"] > 50
    for friction in ("js_error", "rage_click", "poor_inp"):
        assert failed[friction] > 0, friction
        # Friction is met by failed attempts more often than by paid ones.
        assert failed[friction] / failed["attempts"] > paid[friction] / paid["attempts"], friction


def test_browsers_report_only_the_vitals_they_measure(events: list[Event]) -> None:
    reported: dict[str, set[str]] = collections.defaultdict(set)
    for event in events:
        if event.get("name") == "web_vital":
            agent = str(event["context"]["user_agent"])
            engine = (
                "chromium" if "Chrome/" in agent else "firefox" if "Firefox/" in agent else "webkit"
            )
            reported[engine].add(str(event["props"]["metric"]))
    assert reported == {
        "chromium": {"LCP", "INP", "CLS", "TTFB"},
        "firefox": {"LCP", "TTFB"},
        "webkit": {"TTFB"},
    }


def test_a_customer_buys_once_and_each_invoice_is_one_order(events: list[Event]) -> None:
    orders = [str(e["order_id"]) for e in events if e.get("name") == "payment"]
    assert len(orders) == len(set(orders))
    plans: dict[str, set[str]] = collections.defaultdict(set)
    for event in events:
        if event.get("name") == "signup":
            plans[str(event["user_id"])].add(str(event["props"]["plan"]))
    assert plans and all(len(p) == 1 for p in plans.values())
    signups = collections.Counter(str(e["user_id"]) for e in events if e.get("name") == "signup")
    assert max(signups.values()) == 1


def test_a_seed_makes_the_same_world() -> None:
    def make() -> list[Event]:
        return list(World("demo.test", days=5, visitors_per_day=20, seed=3, end_ms=END_MS).events())

    assert make() == make()


def test_the_checkout_funnel_and_the_annotations_are_saved_once(tmp_path: Path) -> None:
    started = time.time()
    prepare_demo(tmp_path, "127.0.0.1", 8000)
    state = json.loads((tmp_path / "demo.json").read_text())
    prepare_demo(tmp_path, "127.0.0.1", 8000)  # a second start makes nothing new
    assert json.loads((tmp_path / "demo.json").read_text()) == state
    config = ConfigStore(tmp_path / "config.sqlite")
    site = config.site_by_domain(DEMO_DOMAIN)
    assert site is not None
    [funnel] = FunnelStore(config).list(site.id)
    assert funnel.name == CHECKOUT_FUNNEL
    assert [(s.kind, s.match) for s in funnel.steps] == [
        ("pageview", "/pricing"),
        ("pageview", "/checkout"),
        ("event", "payment"),
    ]
    assert not ensure_checkout_funnel(config, "elsewhere.example")
    notes = AnnotationStore(config).list(site.id)
    assert [n.text for n in notes] == [text for _, text in DEMO_ANNOTATIONS]
    for note, (days_ago, _) in zip(notes, DEMO_ANNOTATIONS, strict=True):
        day = (started - started % 86_400) - days_ago * 86_400
        assert note.at == day + 36_000 and note.created_by == "demo@clycyo.test"  # 10:00 UTC


def test_clycyo_demo_fills_a_running_server(own_server: ServerProcess) -> None:
    server = own_server.start()
    site = server.add_site("demo-cli.example")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(
            [
                "demo",
                "--url", server.url,
                "--site", site.site,
                "--secret-key", site.secret_key,
                "--days", "20",
                "--visitors-per-day", "40",
                "--data", str(server.data_dir),
            ]
        )  # fmt: skip
    assert code == 0, out.getvalue()
    assert "0 rejected" in out.getvalue() and CHECKOUT_FUNNEL in out.getvalue()
    site.events(limit="1")  # returns once everything acknowledged is in the store
    status, why = server.get(f"/sites/{site.site}/why.json?period=30d", bearer=site.secret_key)
    assert status == 200, why
    report = why["report"]
    assert report["paid"] > 0 and report["failed"] > 0
    assert {f["kind"] for f in report["by_kind"]} >= {"js_error", "rage_click"}


def test_visitors_come_back_through_other_channels_than_direct(sent: Site) -> None:
    visits = {channel: n for (channel,), n in _by(sent, "visits", "visit:channel").items()}
    # Each person's first visit is their first touch: the other visits are the returns.
    firsts = _by(sent, "visitors", "first_touch:channel")
    returns = {c: n - firsts.get((c,), 0) for c, n in visits.items()}
    total = sum(returns.values())
    assert total > 300, returns
    # About half come back directly; brand searches, newsletters, retargeting ads and social
    # posts bring the rest.
    assert 0.35 < returns["Direct"] / total < 0.65, returns
    assert 0.15 < returns["Organic Search"] / total < 0.4, returns
    for channel in ("Email", "Paid Social", "Display", "Organic Social"):
        assert returns.get(channel, 0) > 0, (channel, returns)
    # A return through another channel than the one that first brought the person.
    mixed = _by(sent, "visits", "first_touch:channel", "visit:channel")
    assert any(v not in (f, "Direct") for f, v in mixed), mixed


def test_first_and_last_touch_credit_revenue_to_different_channels(sent: Site) -> None:
    first = _by(sent, "revenue", "first_touch:channel")
    last = _by(sent, "revenue", "last_touch:channel")
    assert sum(first.values()) > 0
    assert sum(first.values()) == pytest.approx(sum(last.values()))
    assert first != last
    # The last non-direct visit before a payment takes credit from a direct first visit...
    assert last.get(("Direct",), 0) < first[("Direct",)]
    # ...and a newsletter brings back buyers it did not bring the first time.
    assert last[("Email",)] > first.get(("Email",), 0)
