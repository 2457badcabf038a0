"""Revenue with a goal chosen, over real HTTP: shown for a goal whose events carried money, and
for a goal that never did (a custom event without an amount, a page goal) no revenue total and a
note in the revenue panel instead of zeros, as Plausible shows revenue for revenue goals only."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.serverproc import Site, clycyo
from tests.web.http_login import Clients, clients

__all__ = ["clients"]  # the fixture

PASSWORD = "correct horse battery"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


def _site_with_goals(site: Site, clients: Clients) -> httpx.Client:
    """Two visitors on /pricing; one signs up (no money), the other buys for 20.00 USD."""
    clycyo("goal", "add", "/pricing", "--site", site.site, data=site.data_dir)
    email = f"money-{site.site}@example.com"
    clycyo(
        "user", "add", email, "--site", site.site, "--password-stdin",
        data=site.data_dir, stdin=PASSWORD + "\n",
    )  # fmt: skip
    browser = {"origin": "browser", "context": {"user_agent": CHROME}}
    url = f"https://{site.site}/pricing"
    batch = [
        {"type": "pageview", "visitor_id": "a", "url": url, **browser},
        {"type": "pageview", "visitor_id": "b", "url": url, **browser},
        {"name": "signup", "visitor_id": "a", "url": url, **browser},
        {
            "name": "purchase",
            "visitor_id": "b",
            "order_id": "o-1",
            "revenue": {"amount": "20.00", "currency": "USD"},
        },
    ]
    status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and answer["accepted"] == len(batch), answer
    status, client = clients.log_in(site.server, email, PASSWORD)
    assert status == 303
    return client


def _view(client: httpx.Client, site: Site, goal: str | None) -> tuple[dict[str, object], ...]:
    """The overview's cards (metric → value) and the revenue panel's `.json` twin and HTML."""
    query = "period=7d" + (f"&f={quote(goal)}" if goal else "")
    overview = client.get(f"/sites/{site.site}.json?{query}")
    assert overview.status_code == 200, overview.text
    cards = {c["metric"]: c["value"] for c in overview.json()["cards"]}
    panel = client.get(f"/sites/{site.site}/panels/revenue.json?{query}")
    assert panel.status_code == 200, panel.text
    html = client.get(f"/sites/{site.site}/panels/revenue?{query}")
    assert html.status_code == 200, html.text
    return cards, panel.json(), {"html": html.text}


def test_revenue_shows_only_for_a_goal_that_carried_money(server: Site, clients: Clients) -> None:
    client = _site_with_goals(server, clients)
    cards, panel, _ = _view(client, server, None)
    assert cards["revenue"] == 20.0
    cards, panel, _ = _view(client, server, "is,event:name,purchase")
    assert cards["revenue"] == 20.0 and cards["conversions"] == 1
    assert panel["metrics"] == ["revenue", "orders", "visitors"]
    assert [row["numbers"][:2] for row in panel["rows"]] == [[20.0, 1]]
    for goal in ("is,event:name,signup", "is,event:goal,Visit /pricing"):
        cards, panel, page = _view(client, server, goal)
        assert "revenue" not in cards, goal
        assert cards["conversions"] >= 1, goal
        assert panel["goal_carries_money"] is False and "rows" not in panel, goal
        assert "never carried money" in str(panel["note"])
        assert "data-no-money" in str(page["html"]) and "0.00" not in str(page["html"])
        assert "f=" not in str(panel["without_goal"])


def test_a_chart_of_revenue_for_a_goal_without_money_charts_its_conversions(
    server: Site, clients: Clients
) -> None:
    """A link that asks for the revenue chart (`metric=revenue`, kept from a view without the
    goal) charts the goal's conversions when the goal never carried money, not a line of zeros."""
    client = _site_with_goals(server, clients)
    for goal, metric in (
        ("is,event:name,signup", "conversions"),
        ("is,event:name,purchase", "revenue"),
    ):
        query = f"period=7d&metric=revenue&f={quote(goal)}"
        overview = client.get(f"/sites/{server.site}.json?{query}")
        assert overview.status_code == 200, overview.text
        answer = overview.json()
        assert answer["chart"]["metric"] == metric, goal
        assert answer["queries"]["series"]["metrics"] == [metric], goal
