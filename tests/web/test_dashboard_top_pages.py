"""The Pages panel's Top pages: time on page and scroll depth beside visitors and pageviews, as
the query API answers the body the panel reports, with events sent through the collect API."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Dashboard, HalfHour, rows_by_label

# Visitor: the page they view, then their engagement reports of it (scroll depth, engaged ms).
READS: dict[str, tuple[str, list[tuple[Any, Any]]]] = {
    "r1": ("/a", [(40, 3000), (70, 62000)]),
    "r2": ("/a", [(100, 70000), ("?", "a while")]),  # not numbers: no report
    "r3": ("/b", []),
}


def _send(dashboard: Dashboard) -> None:
    half = HalfHour(dashboard.site)
    batch = []
    for n, (visitor, (path, reports)) in enumerate(READS.items()):
        batch.append(half.view(visitor, 10 * n, path))
        for minute, (depth, engaged) in enumerate(reports, start=10 * n + 1):
            props = {"scroll_depth": depth, "engaged_ms": engaged}
            batch.append(half.event(visitor, minute, path, name="engagement", props=props))
    dashboard.stored(batch)


def test_top_pages_show_time_on_page_and_scroll_depth(dashboard: Dashboard) -> None:
    _send(dashboard)
    client = dashboard.login()
    path = f"/sites/{dashboard.site}/panels/pages"
    data = client.get(f"{path}.json?period=7d&tab=top").json()
    assert data["columns"] == ["Page", "Visitors", "Pageviews", "Time on page", "Scroll depth"]
    # /a: (3 + 62 + 70 s) / 2 visitors = 67.5 s, rounded to 68; deepest scrolls 70 and 100.
    assert rows_by_label(data) == {"/a": [2, 2, 68, 85.0], "/b": [1, 1, None, None]}
    asked = client.post(
        "/api/v1/query",
        json={**data["query"], "site": dashboard.site},
        headers={"Authorization": f"Bearer {dashboard.secret_key()}"},
    ).json()
    assert [(r["dimensions"][0], r["metrics"]) for r in asked["results"]] == [
        ("/a", [2, 2, 68, 85.0]),
        ("/b", [1, 1, None, None]),
    ]
    html = client.get(f"{path}?period=7d&tab=top").text
    a_row, b_row = html.split('data-filter="is,event:page,/a"')[1].split("</tr>")[:2]
    assert ">1m 08s<" in a_row and ">85%<" in a_row
    assert b_row.count(">\N{EN DASH}<") == 2 and "%<" not in b_row


def test_a_chosen_goals_top_pages_keep_their_own_columns(dashboard: Dashboard) -> None:
    _send(dashboard)
    client = dashboard.login()
    goal = "f=is,event:name,signup"
    path = f"/sites/{dashboard.site}/panels/pages.json?period=7d&tab=top&{goal}"
    data = client.get(path).json()
    assert "time_on_page" not in data["metrics"] and "Scroll depth" not in data["columns"]
    assert data["metrics"] == ["conversions", "events"]
