"""Page goals on the dashboard: the goals panel lists "Visit /thank-you/*" above the custom events
with its visitors, matching pageviews and conversion rate, and a click on it chooses the goal,
which the overview then shows as it shows a custom event's. Every number here is counted by hand
from the events sent through the collect API."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

from starlette.testclient import TestClient

from clycyo.config.goals import PageGoalStore
from tests.web.conftest import Dashboard, HalfHour, rows_by_label

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
        json={**data["page_goal_queries"][0], "site": dashboard.site},
        headers={"Authorization": f"Bearer {dashboard.secret_key()}"},
    ).json()
    assert asked["results"][0]["metrics"] == [2, 3, 40.0]
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
        "revenue": 0,
    }
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
