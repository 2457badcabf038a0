"""Page goals on the dashboard: the goals panel lists "Visit /thank-you/*" above the custom events
with its visitors, matching pageviews and conversion rate, and a click on it chooses the goal,
which the overview then shows as it shows a custom event's. Every number here is counted by hand
from the events sent through the collect API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from starlette.testclient import TestClient

from clycyo.app import build_app
from clycyo.config.access import AccessStore
from clycyo.config.goals import PageGoalStore
from clycyo.config.passwords import hash_password
from clycyo.observability import QUERY_SECONDS
from clycyo.runtime import Runtime, Settings
from tests.engines import ENGINES, storage_url
from tests.web.conftest import PASSWORD, Dashboard, HalfHour, rows_by_label

GOOGLE = "https://www.google.com/"
GOAL = "f=" + quote("is,event:goal,Visit /thank-you/*")


def _send(dashboard: Dashboard) -> TestClient:
    """Five visitors: a, b and e come from Google, c and d directly. a reaches
    /thank-you/pro, b /thank-you/basic twice; d views /thank-you (no page after the slash, so
    not the goal's) and signs up; c and e reach no goal."""
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    goals = PageGoalStore(dashboard.runtime.config)
    goals.add(site.id, "/thank-you/*")
    goals.add(site.id, "/never-seen/**")
    at = HalfHour(dashboard.site)
    event, view = at.event, at.view
    batch = [
        view("a", 1, "/pricing", GOOGLE),
        view("a", 2, "/thank-you/pro"),
        view("b", 3, "/pricing", GOOGLE),
        view("b", 4, "/thank-you/basic"),
        view("b", 5, "/thank-you/basic"),
        view("c", 6, "/"),
        event("c", 7, "/", name="js_error", props={"message": "boom", "line": 1}),
        view("d", 8, "/thank-you"),
        event("d", 9, "/thank-you", name="signup"),
        view("e", 10, "/blog", GOOGLE),
    ]
    dashboard.stored(batch)
    return dashboard.login()


def test_the_goals_panel_lists_page_goals_above_the_custom_events(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    path = f"/sites/{dashboard.site}/panels/goals"
    data = client.get(f"{path}.json?period=7d").json()
    assert data["columns"] == ["Event", "Visitors", "Events", "Conversion rate"]
    # a and b of five visitors, three pageviews; d signed up. /never-seen/** had nobody.
    assert [(row["label"], row["numbers"]) for row in data["rows"]] == [
        ("Visit /thank-you/*", [2, 3, 40.0]),
        ("signup", [1, 1, 20.0]),
    ]
    assert data["rows"][0]["filter"] == "is,event:goal,Visit /thank-you/*"
    assert [row["share"] for row in data["rows"]] == [100.0, 50.0]
    # The row's numbers are the query layer's for the body the panel reports.
    asked = client.post(
        "/api/v1/query",
        json={**data["page_goal_query"], "site": dashboard.site},
        headers={"Authorization": f"Bearer {dashboard.secret_key()}"},
    ).json()
    assert asked["results"] == [{"dimensions": ["Visit /thank-you/*"], "metrics": [2, 3, 40.0]}]
    html = client.get(f"{path}?period=7d").text
    link = data["rows"][0]["link"].replace("&", "&amp;")
    assert f'href="/sites/{dashboard.site}?{link}"' in html
    assert ">Visit /thank-you/*</a>" in html
    assert ("f", "is,event:goal,Visit /thank-you/*") in parse_qsl(data["rows"][0]["link"])


def test_a_page_goal_chosen_is_shown_as_a_custom_events_goal(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    overview = f"/sites/{dashboard.site}"
    data = client.get(f"{overview}.json?period=7d&{GOAL}").json()
    assert {c["metric"]: c["value"] for c in data["cards"]} == {
        "visitors": 5,
        "conversions": 2,
        "events": 3,
        "conversion_rate": 40.0,
    }  # no revenue: the goal never carried money
    assert [c["label"] for c in data["cards"]][:4] == [
        "Unique visitors",
        "Unique conversions",
        "Total conversions",
        "Conversion rate",
    ]
    assert data["queries"]["visitors"]["filters"] == []
    # The chart defaults to the goal's unique conversions.
    assert data["chart"]["metric"] == "conversions"
    assert sum(value for _, value in data["chart"]["points"]) == 2
    panels = f"{overview}/panels"
    # Google brought a, b and e, of whom a and b converted.
    sources = client.get(f"{panels}/sources.json?period=7d&tab=sources&{GOAL}").json()
    assert sources["metrics"] == ["conversions", "conversion_rate"]
    assert rows_by_label(sources)["Google"] == [2, 66.67]
    top = client.get(f"{panels}/pages.json?period=7d&tab=top&{GOAL}").json()
    assert rows_by_label(top) == {"/thank-you/basic": [1, 2], "/thank-you/pro": [1, 1]}
    goals = client.get(f"{panels}/goals.json?period=7d&{GOAL}").json()
    assert rows_by_label(goals) == {"Visit /thank-you/*": [2, 3, 40.0]}
    errors = client.get(f"{panels}/errors.json?period=7d&{GOAL}").json()
    assert errors["narrowed_by_goal"] is False
    assert [v for n, v in parse_qsl(errors["without_goal"]) if n == "f"] == []
    html = client.get(f"{overview}?period=7d&{GOAL}").text
    assert "Visit /thank-you/*" in html


@pytest.fixture(params=ENGINES)
def on_engine(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_folder: Path
) -> Iterator[Dashboard]:
    """The dashboard of `conftest.dashboard` on DuckDB and on chDB (the app closes the runtime
    as it stops)."""
    storage = storage_url(request.param, chdb_folder)
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data", storage_url=storage))
    mine = runtime.config.add_site("mine.example.com").site
    runtime.config.add_user("ada@example.com", hash_password(PASSWORD), [mine.id])
    with TestClient(build_app(runtime), follow_redirects=False) as client:
        yield Dashboard(runtime, client, AccessStore(runtime.config), "mine.example.com", "")


# `*`, `**` and literal patterns that overlap: /thank-you/pro is in four of them.
OVERLAPPING = ("/thank-you/**", "/thank-you/pro", "/**", "/*")


def _statements() -> int:
    """Statements run against the event store so far (each is timed once)."""
    return QUERY_SECONDS.snapshot()[0][-1]


def test_the_goals_panel_asks_one_query_for_all_page_goals(on_engine: Dashboard) -> None:
    """However many page goals, and however they overlap, the panel asks one query for their
    rows, each with the numbers the query API gives that goal alone."""
    dashboard = on_engine
    client = _send(dashboard)
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    goals = PageGoalStore(dashboard.runtime.config)
    for pattern in OVERLAPPING:
        goals.add(site.id, pattern)
    headers = {"Authorization": f"Bearer {dashboard.secret_key()}"}
    path = f"/sites/{dashboard.site}/panels/goals.json?period=7d&limit=50"

    def panel() -> tuple[dict[str, Any], int]:
        before = _statements()
        data = client.get(path).json()
        return data, _statements() - before

    data, asked = panel()
    rows = rows_by_label(data)
    for goal in goals.list(site.id):
        body = {"metrics": data["metrics"], "date_range": "7d", "site": dashboard.site}
        body["filters"] = [["is", "event:goal", [goal.name]]]
        alone = client.post("/api/v1/query", json=body, headers=headers).json()["results"]
        assert rows.get(goal.name) == (alone[0]["metrics"] if alone[0]["metrics"][0] else None)
    # Five visitors, eight pageviews: each visitor's first page is one level deep.
    assert rows["Visit /**"] == [5, 8, 100.0]
    assert rows["Visit /*"] == [5, 5, 100.0]
    assert rows["Visit /thank-you/**"] == rows["Visit /thank-you/*"] == [2, 3, 40.0]
    assert rows["Visit /thank-you/pro"] == [1, 1, 20.0]
    assert "Visit /never-seen/**" not in rows
    # Thirty goals more, of which ten reached: the same statements as with six.
    for index in range(30):
        goals.add(site.id, f"/{index}/**" if index % 3 else "/thank-you/**/" + str(index))
    more, asked_with_more = panel()
    assert asked_with_more == asked
    assert len(more["rows"]) == len(data["rows"])
