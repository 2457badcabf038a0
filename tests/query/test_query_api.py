"""The query and people endpoints over real HTTP, against a real `clycyo serve`."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from tests.serverproc import Site, clycyo
from tests.small_world import CHROME, day_start

START = day_start()
DAY = START.date().isoformat()


def _at(minute: float) -> int:
    return int((START + dt.timedelta(minutes=minute)).timestamp() * 1000)


def _page(site: Site, visitor: str, minute: float, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "pageview",
        "origin": "browser",
        "visitor_id": visitor,
        "url": f"https://{site.site}{path}",
        "timestamp": _at(minute),
        "context": {"user_agent": CHROME},
        "event_id": uuid.uuid4().hex,
        **extra,
    }


def _world(site: Site) -> None:
    batch = [
        _page(site, "v1", 60, "/", referrer="https://www.google.com/"),
        _page(site, "v1", 61, "/pricing"),
        {
            "type": "identify",
            "origin": "browser",
            "visitor_id": "v1",
            "user_id": "ann",
            "url": f"https://{site.site}/pricing",
            "timestamp": _at(62),
        },
        _page(site, "v2", 90, "/", referrer="https://news.ycombinator.com/"),
        {
            "name": "payment",
            "user_id": "ann",
            "order_id": "inv_1",
            "timestamp": _at(63),
            "revenue": {"amount": "49.00", "currency": "USD"},
        },
        {
            "name": "refund",
            "user_id": "ann",
            "order_id": "re_1",
            "timestamp": _at(200),
            "revenue": {"amount": "-9.00", "currency": "USD"},
        },
    ]
    status, body = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and body["accepted"] == len(batch), body


def _query(site: Site, body: dict[str, Any], path: str = "/api/v1/query") -> tuple[int, Any]:
    return site.post(path, {"site": site.site, "date_range": [DAY, DAY], **body}, secret=True)


def test_the_query_endpoint_answers_the_contracts_shape(server: Site) -> None:
    _world(server)
    status, body = _query(
        server,
        {
            "metrics": [
                "visitors",
                "visits",
                "pageviews",
                "bounce_rate",
                "revenue",
                "orders",
                "refunds",
                "conversions",
                "conversion_rate",
            ],
        },
    )
    assert status == 200, body
    assert body["results"] == [{"dimensions": [], "metrics": [2, 2, 3, 50.0, 40.0, 1, 1, 1, 50.0]}]
    status, body = _query(
        server,
        {
            "metrics": ["visitors", "revenue"],
            "dimensions": ["first_touch:source"],
            "order_by": [["visitors", "desc"], ["first_touch:source", "asc"]],
        },
    )
    assert status == 200, body
    assert body["results"] == [
        {"dimensions": ["Google"], "metrics": [1, 40.0]},
        {"dimensions": ["Hacker News"], "metrics": [1, 0]},
    ]
    assert body["meta"]["currency"] == "USD"


def test_bad_queries_are_400_with_the_field_and_credentials_are_checked(server: Site) -> None:
    status, body = _query(server, {"metrics": ["visitors", "sessions"]})
    assert status == 400 and body["error"].startswith("metrics[1]: unknown metric 'sessions'")
    status, body = _query(server, {"metrics": ["scroll_depth"], "dimensions": ["visit:source"]})
    assert status == 400
    assert body["error"].startswith(
        "metrics[0]: scroll_depth cannot be broken down by visit:source"
    )
    custom = {"comparison": {"date_range": ["2026-11-01", "2026-11-31"]}}
    status, body = _query(server, {"metrics": ["visitors"], "include": custom})
    assert status == 400
    assert body["error"] == (
        "include.comparison.date_range[1]: expected a date YYYY-MM-DD, got '2026-11-31'"
    )
    status, body = server.post("/api/v1/query", b"{not json", secret=True)
    assert status == 400 and body["error"].startswith("body:")
    # Bodies a JSON reader takes but nothing after it can: nested past its depth, or with a
    # lone surrogate escape (no answer naming it could be written): a 400 each, not a 500.
    status, body = server.post("/api/v1/query", b"[" * 150_000 + b"]" * 150_000, secret=True)
    assert (status, body["error"]) == (400, "body: larger than 262144 bytes")
    status, body = server.post("/api/v1/query", b"[" * 20_000 + b"]" * 20_000, secret=True)
    assert (status, body["error"]) == (400, "body: JSON nested too deeply")
    lone = "not valid Unicode text (a lone surrogate such as \\ud800)"
    for raw, field in (
        (b'{"site": "a\\ud800.example", "metrics": ["visitors"]}', "site"),
        (
            b'{"site": "%s", "metrics": ["visitors"],' % server.site.encode()
            + b' "filters": [["is", "event:page", ["/\\udfff"]]]}',
            "filters[0][2][0]",
        ),
    ):
        status, body = server.post("/api/v1/query", raw, secret=True)
        assert (status, body["error"]) == (400, f"{field}: {lone}")
    status, body = server.post("/api/v1/query", {"site": server.site, "metrics": ["visitors"]})
    assert status == 401
    other = server.server.add_site()
    status, body = other.post(
        "/api/v1/query", {"site": server.site, "metrics": ["visitors"]}, secret=True
    )
    assert status == 403


def test_funnel_retention_journeys_and_realtime(server: Site) -> None:
    _world(server)
    status, body = _query(
        server,
        {"steps": [{"page": "/"}, {"page": "/pricing"}], "window": "1h"},
        "/api/v1/query/funnel",
    )
    assert status == 200, body
    assert [s["visitors"] for s in body["steps"]] == [2, 1]
    status, body = _query(server, {"steps": 3}, "/api/v1/query/journeys")
    assert status == 200, body
    assert body["journeys"] == [
        {"pages": ["/"], "visits": 1, "visitors": 1},
        {"pages": ["/", "/pricing"], "visits": 1, "visitors": 1},
    ]
    status, body = _query(server, {"weeks": 2}, "/api/v1/query/retention")
    assert status == 200, body
    assert sum(c["visitors"] for c in body["cohorts"]) == 2
    now = int(time.time() * 1000)
    live = _page(server, "v9", 0, "/now")
    live["timestamp"] = now
    assert server.post("/api/collect", live, secret=True)[0] == 200
    status, body = server.server.get(
        f"/api/v1/realtime?site={server.site}", bearer=server.secret_key
    )
    assert status == 200, body
    assert body["visitors"] == 1 and body["pages"] == [{"page": "/now", "visitors": 1}]


def test_timeline_and_erasure(server: Site) -> None:
    _world(server)
    status, body = server.server.get(
        f"/api/v1/persons/ann/timeline?site={server.site}", bearer=server.secret_key
    )
    assert status == 200, body
    assert body["person"] == {"user_id": "ann", "visitor_ids": ["v1"]}
    assert [(e["name"], e["origin"]) for e in body["events"]] == [
        ("pageview", "browser"),
        ("pageview", "browser"),
        ("identify", "browser"),
        ("payment", "server"),
        ("refund", "server"),
    ]
    assert body["events"][3]["revenue"] == {"amount": "49", "currency": "USD"}
    status, body = server.server.request(
        "DELETE",
        f"/api/v1/persons/v1?site={server.site}",
        headers={"Authorization": f"Bearer {server.secret_key}"},
    )
    assert status == 200, body
    assert body["deleted"] == 5
    status, _ = server.server.get(
        f"/api/v1/persons/ann/timeline?site={server.site}", bearer=server.secret_key
    )
    assert status == 404
    status, body = _query(server, {"metrics": ["visitors", "revenue", "events"]})
    assert body["results"][0]["metrics"] == [1, 0, 1]
    assert {e["visitor_id"] for e in server.events()} == {"v2"}


def test_funnels_and_journeys_take_only_the_sites_page_goals(server: Site) -> None:
    """An `event:goal` filter of a funnel (its steps' or its own) or of journeys names a goal
    as `/query` takes it: a page goal of the site's, else a 400 naming the field and why."""
    _world(server)
    clycyo("goal", "add", "/pricing", "--site", server.site, data=server.data_dir)
    pricing = [["is", "event:goal", ["Visit /pricing"]]]
    nope = [["is", "event:goal", ["Visit /nope"]]]
    funnel = "/api/v1/query/funnel"
    steps = [{"page": "/"}, {"name": "pageview", "filters": pricing}]
    status, body = _query(server, {"steps": steps, "window": "1h"}, funnel)
    assert status == 200, body
    assert [s["visitors"] for s in body["steps"]] == [2, 1]
    refused = {
        "steps[1].filters[0][2][0]": {"steps": [{"page": "/"}, {"filters": nope}]},
        "filters[0][2][0]": {"steps": [{"page": "/"}, {"page": "/pricing"}], "filters": nope},
    }
    for field, spec in refused.items():
        status, body = _query(server, spec, funnel)
        assert status == 400, body
        assert body["error"] == f"{field}: event:goal: the site has no goal 'Visit /nope'"
    journeys = "/api/v1/query/journeys"
    status, body = _query(server, {"steps": 3, "filters": pricing}, journeys)
    assert status == 200 and body["journeys"] == [
        {"pages": ["/pricing"], "visits": 1, "visitors": 1}
    ], body
    status, body = _query(server, {"steps": 3, "filters": nope}, journeys)
    assert status == 400
    assert body["error"] == "filters[0][2][0]: event:goal: the site has no goal 'Visit /nope'"
    bad = [["is", "event:goal", ["Visit /a b"]]]  # not a pattern at all, as in /query
    status, body = _query(server, {"steps": 3, "filters": bad}, journeys)
    assert status == 400 and body["error"].startswith("filters[0][2][0]: event:goal: pattern:")
