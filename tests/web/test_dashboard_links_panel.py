"""The overview's Outbound links & downloads panel: the links to other hosts and the files the
tracker saw clicked, by URL, with their visitors and clicks; a click on a row filters the view
by it, a goal does not narrow it, and a URL is shown as text. Every number is counted by hand
from the events sent."""

from __future__ import annotations

from urllib.parse import quote

from starlette.testclient import TestClient

from tests.web.conftest import Dashboard, HalfHour, rows_by_label

GITHUB = "https://github.com/clycyo/clycyo"
GUIDE = "https://mine.example.com/files/guide.pdf"
HOSTILE = "https://evil.example/<img src=x onerror=alert(1)>"


def _send(dashboard: Dashboard) -> TestClient:
    """a clicks the repository link twice and downloads the guide; b clicks the repository link
    and the hostile one; c downloads the guide twice; d only reads."""
    at = HalfHour(dashboard.site)
    event, view = at.event, at.view

    def click(visitor: str, minute: int, url: str) -> dict[str, object]:
        return event(visitor, minute, "/blog", name="outbound_click", props={"url": url})

    def download(visitor: str, minute: int) -> dict[str, object]:
        return event(visitor, minute, "/docs", name="file_download", props={"url": GUIDE})

    dashboard.stored(
        [
            view("a", 1, "/blog"),
            click("a", 2, GITHUB),
            click("a", 3, GITHUB),
            download("a", 4),
            view("b", 5, "/blog"),
            click("b", 6, GITHUB),
            click("b", 7, HOSTILE),
            view("c", 8, "/docs"),
            download("c", 9),
            download("c", 10),
            view("d", 11, "/"),
            event("d", 12, "/", name="signup"),
        ]
    )
    return dashboard.login()


def test_links_and_downloads_are_listed_by_url(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    path = f"/sites/{dashboard.site}/panels/links"
    outbound = client.get(f"{path}.json?period=7d").json()
    assert outbound["title"] == "Outbound links & downloads"
    assert [t["label"] for t in outbound["tabs"]] == ["Outbound links", "File downloads"]
    assert outbound["tab"] == "outbound" and outbound["columns"] == ["URL", "Visitors", "Events"]
    assert rows_by_label(outbound) == {GITHUB: [2, 3], HOSTILE: [1, 1]}
    assert outbound["query"]["filters"] == [["is", "event:name", ["outbound_click"]]]
    downloads = client.get(f"{path}.json?period=7d&tab=downloads").json()
    assert rows_by_label(downloads) == {GUIDE: [2, 3]}
    # A row filters the view by its URL: then the overview counts the visitors who clicked it.
    (github,) = [row for row in outbound["rows"] if row["label"] == GITHUB]
    assert github["filter"] == f"is,event:props:url,{GITHUB}"
    overview = client.get(f"/sites/{dashboard.site}.json?{github['link']}").json()
    cards = {c["metric"]: c["value"] for c in overview["cards"]}
    assert cards["visitors"] == 2
    # Shown as text, never as markup.
    html = client.get(f"{path}?period=7d").text
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    # Page filters narrow them as any event's.
    docs = client.get(f"{path}.json?period=7d&tab=downloads&f=" + quote("is,event:page,/blog"))
    assert rows_by_label(docs.json()) == {}


def test_a_goal_does_not_narrow_them(dashboard: Dashboard) -> None:
    client = _send(dashboard)
    path = f"/sites/{dashboard.site}/panels/links"
    data = client.get(f"{path}.json?period=7d&f=" + quote("is,event:name,signup")).json()
    assert data["narrowed_by_goal"] is False
    assert data["note"].startswith("Outbound links & downloads are not narrowed by a goal")
    assert data["without_goal"] == "period=7d"
