"""The overview with a goal chosen (`event:name is signup`): the panels of visits show each row's
conversions and conversion rate, top pages the pages the goal happened on, the panels of
built-in events say a goal does not narrow them, and the totals are the goal's, also with a page
filter beside it. Every number here is counted by hand from the events sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.testclient import TestClient

from tests.web.conftest import Dashboard, HalfHour, rows_by_label

GOOGLE = "https://www.google.com/"
GOAL = "f=" + quote("is,event:name,signup")
PRICING = "f=" + quote("is,event:page,/pricing")


def _send(dashboard: Dashboard) -> TestClient:
    """Five visitors: a, b and e come from Google, c and d directly. a, b and c view /pricing,
    d and e the home page. a signs up on /pricing, d twice on the home page; c meets a rage
    click and a JavaScript error on /pricing."""
    at = HalfHour(dashboard.site)
    event, view = at.event, at.view
    batch = [
        view("a", 1, "/pricing", GOOGLE),
        event("a", 2, "/pricing", name="signup"),
        view("b", 3, "/pricing", GOOGLE),
        view("c", 4, "/pricing"),
        event("c", 5, "/pricing", name="rage_click", props={"selector": "#buy", "clicks": 4}),
        event("c", 6, "/pricing", name="js_error", props={"message": "boom", "line": 1}),
        view("d", 7, "/"),
        event("d", 8, "/", name="signup"),
        event("d", 9, "/", name="signup"),
        view("e", 10, "/", GOOGLE),
    ]
    dashboard.stored(batch)
    return dashboard.login()


def test_a_panel_of_visits_shows_each_rows_conversions_and_rate(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    path = f"/sites/{dashboard.site}/panels/sources"
    data = client.get(f"{path}.json?period=7d&tab=sources&{GOAL}").json()
    assert data["metrics"] == ["conversions", "conversion_rate"]
    assert data["columns"] == ["Source", "Conversions", "CR"]
    # Google: a of a, b and e; direct: d of c and d.
    assert rows_by_label(data) == {"Google": [1, 33.33], "(none)": [1, 50.0]}
    html = client.get(f"{path}?period=7d&tab=sources&{GOAL}").text
    assert '<th scope="col" class="num">CR</th>' in html
    assert 'data-value="33.33">33.3%' in html and 'data-value="50.0">50%' in html
    entry = client.get(f"{path.replace('sources', 'pages')}.json?period=7d&tab=entry&{GOAL}")
    assert rows_by_label(entry.json()) == {"/pricing": [1, 33.33], "/": [1, 50.0]}
    # The rate is the query layer's, for the body the panel reports.
    asked = client.post(
        "/api/v1/query",
        json={**data["query"], "site": dashboard.site},
        headers={"Authorization": f"Bearer {dashboard.secret_key()}"},
    ).json()
    assert [r["metrics"] for r in asked["results"]] == [r["numbers"] for r in data["rows"]]


def test_top_pages_with_a_goal_are_the_pages_it_happened_on(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    path = f"/sites/{dashboard.site}/panels/pages"
    data = client.get(f"{path}.json?period=7d&tab=top&{GOAL}").json()
    assert data["columns"] == ["Page", "Conversions", "Total conversions"]
    assert data["query"]["filters"] == [["is", "event:name", ["signup"]]]
    assert rows_by_label(data) == {"/": [1, 2], "/pricing": [1, 1]}
    html = client.get(f"{path}?period=7d&tab=top&{GOAL}").text
    assert ">Total conversions</th>" in html and ">/pricing</a>" in html
    # Without a goal the tab still counts pageviews (with no engagement reports: no time on
    # page, no scroll depth).
    plain = client.get(f"{path}.json?period=7d&tab=top").json()
    assert rows_by_label(plain) == {"/pricing": [3, 3, None, None], "/": [2, 2, None, None]}


def test_panels_of_built_in_events_say_a_goal_does_not_narrow_them(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    base = f"/sites/{dashboard.site}/panels"
    assert rows_by_label(client.get(f"{base}/rage.json?period=7d").json()) == {"#buy": [1, 1]}
    assert client.get(f"{base}/errors.json?period=7d").json()["errors"][0]["message"] == "boom"
    for panel, title in (
        ("rage", "Rage clicks"),
        ("errors", "JS errors"),
        ("vitals", "Web vitals"),
    ):
        query = f"period=7d&{GOAL}&{PRICING}&f=" + quote("is,event:props:plan,pro")
        data = client.get(f"{base}/{panel}.json?{query}").json()
        assert data["narrowed_by_goal"] is False, panel
        assert data["note"].startswith(f"{title} are not narrowed by a goal"), panel
        kept = [value for name, value in parse_qsl(data["without_goal"]) if name == "f"]
        assert kept == ["is,event:page,/pricing"], panel
        html = client.get(f"{base}/{panel}?{query}").text
        assert "data-not-narrowed" in html and data["note"] in html, panel
        assert (
            f'href="/sites/{dashboard.site}?{data["without_goal"].replace("&", "&amp;")}"' in html
        )
    rage = client.get(f"{base}/rage.json?period=7d&{PRICING}").json()
    assert rows_by_label(rage) == {"#buy": [1, 1]}  # a page alone narrows them as before


def test_the_totals_with_a_goal_and_a_page_are_that_pages(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    overview = f"/sites/{dashboard.site}"

    def cards(query: str) -> dict[str, Any]:
        data = client.get(f"{overview}.json?period=7d&{query}").json()
        return {c["metric"]: c["value"] for c in data["cards"]}

    # Five visitors; a and d converted, d twice.
    assert cards(GOAL) == {
        "visitors": 5,
        "conversions": 2,
        "events": 3,
        "conversion_rate": 40.0,
    }  # no revenue: the goal never carried money
    # With /pricing: its three visitors (a, b, c), of whom a signed up there.
    assert cards(f"{GOAL}&{PRICING}") == {
        "visitors": 3,
        "conversions": 1,
        "events": 1,
        "conversion_rate": 33.33,
    }
    data = client.get(f"{overview}.json?period=7d&{GOAL}&{PRICING}").json()
    assert [c["label"] for c in data["cards"]][:4] == [
        "Unique visitors",
        "Unique conversions",
        "Total conversions",
        "Conversion rate",
    ]
    assert data["queries"]["visitors"]["filters"] == [["is", "event:page", ["/pricing"]]]
    html = client.get(f"{overview}?period=7d&{GOAL}&{PRICING}").text
    rate = html.split('data-metric="conversion_rate"', 1)[1].split("</a>", 1)[0]
    assert ">33.3%</span>" in rate
    # The chart of visitors with a goal is of the visitors its card counts.
    chart = client.get(f"{overview}.json?period=7d&{GOAL}&{PRICING}&metric=visitors").json()
    assert sum(value for _, value in chart["chart"]["points"]) == 3
    # Unless another total is chosen, the chart is of the goal's unique conversions.
    chart = client.get(f"{overview}.json?period=7d&{GOAL}").json()
    assert chart["chart"]["metric"] == "conversions"
    assert sum(value for _, value in chart["chart"]["points"]) == 2
    rate = client.get(f"{overview}.json?period=7d&{GOAL}&metric=conversion_rate").json()
    assert rate["chart"]["metric"] == "conversion_rate"
    assert rate["chart"]["label"] == "Conversion rate"


def test_a_rate_of_nobody_reads_as_a_dash_not_a_percent(dashboard: Dashboard) -> None:
    """A conversion a backend reports outside any visit counts in the `(none)` row's conversions
    and in no row's rate: that rate is no number, shown as a dash without a percent sign."""
    at = HalfHour(dashboard.site)
    dashboard.stored(
        [
            at.view("a", 1, "/", GOOGLE),
            {"name": "signup", "user_id": "u9", "timestamp": at.now_ms - 60_000},
        ]
    )
    client = dashboard.login()
    path = f"/sites/{dashboard.site}/panels/sources?period=7d&tab=sources&{GOAL}"
    data = client.get(path.replace("sources?", "sources.json?")).json()
    assert rows_by_label(data) == {"(none)": [1, None]}
    html = client.get(path).text
    cell = html.split('data-value="">', 1)[1].split("</td>", 1)[0]
    assert cell.strip() == "\u2013"  # a dash, and no percent sign
