"""The overview's export over real HTTP: a zip of CSV files whose rows are the panels' `.json`
rows for the same view, filters and goal included, formulas neutralised, reached by a login or a
shared link only."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from clycyo.web.dashboard.export_files import safe_cell
from clycyo.web.dashboard.overview import bucket
from tests.engines import available
from tests.serverproc import ServerProcess, Site, clycyo
from tests.web.conftest import CHROME
from tests.web.http_login import Clients, clients, site_user

__all__ = ["clients"]  # the fixture

HOSTILE = {
    '=HYPERLINK("https://evil.test","x")': '\'=HYPERLINK("https://evil.test","x")',
    "+1+cmd": "'+1+cmd",
    "-2+cmd": "'-2+cmd",
    "@SUM(1)": "'@SUM(1)",
    "\tcmd": "'\tcmd",
    "\rcmd": "'\rcmd",
}
# Each panel tab and the file it is exported as.
TABS = {
    ("pages", "top"): "pages.csv",
    ("pages", "entry"): "entry_pages.csv",
    ("pages", "exit"): "exit_pages.csv",
    ("sources", "channels"): "channels.csv",
    ("sources", "sources"): "sources.csv",
    ("sources", "utm_source"): "utm_sources.csv",
    ("sources", "utm_medium"): "utm_mediums.csv",
    ("sources", "utm_campaign"): "utm_campaigns.csv",
    ("sources", "utm_term"): "utm_terms.csv",
    ("sources", "utm_content"): "utm_contents.csv",
    ("locations", "countries"): "countries.csv",
    ("devices", "devices"): "devices.csv",
    ("devices", "browsers"): "browsers.csv",
    ("devices", "os"): "operating_systems.csv",
    ("goals", "events"): "conversions.csv",
    ("revenue", "first_channel"): "revenue_first_touch_channel.csv",
    ("revenue", "last_channel"): "revenue_last_touch_channel.csv",
    ("revenue", "first_source"): "revenue_first_touch_source.csv",
    ("revenue", "first_campaign"): "revenue_first_touch_campaign.csv",
    ("rage", "selectors"): "rage_clicks.csv",
    ("links", "outbound"): "outbound_links.csv",
    ("links", "downloads"): "file_downloads.csv",
}
VIEW = "period=7d"


def _events(domain: str) -> list[dict[str, Any]]:
    """Six visitors over the last hour: from Google, from campaigns named like formulas, and
    typed in; a signup with a plan, a payment, a web vital, a JS error, a rage click and a click
    on an outbound link."""
    now_ms = int(time.time() * 1000)
    events: list[dict[str, Any]] = []
    campaigns = list(HOSTILE)
    for n in range(6):
        visitor = f"v{n}-{uuid.uuid4().hex[:6]}"
        base = {
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": visitor,
            "session_id": visitor,
        }
        query = f"?utm_source=news&utm_medium=email&utm_campaign={quote(campaigns[n - 2])}"
        landing = f"https://{domain}/{'pricing' if n % 2 else ''}" + (query if n >= 2 else "")
        referrer = {"referrer": "https://www.google.com/"} if n < 2 else {}
        at = now_ms - 60_000 * (50 - n)
        events.append({**base, "type": "pageview", "url": landing, "timestamp": at, **referrer})
        events.append(
            {**base, "type": "pageview", "url": f"https://{domain}/docs", "timestamp": at + 9_000}
        )
        if n < 3:
            page = f"https://{domain}/signup"
            plan = {"plan": "=cmd|' /C calc'!A0" if n == 0 else "pro"}
            events.append(
                {**base, "name": "signup", "url": page, "props": plan, "timestamp": at + 20_000}
            )
        if n == 0:
            events.append(
                {
                    **base,
                    "name": "purchase",
                    "revenue": {"amount": "49.00", "currency": "USD"},
                    "order_id": f"o-{visitor}",
                    "timestamp": at + 30_000,
                }
            )
        vital = {"metric": "LCP", "value": 1800 + 400 * n, "rating": "good"}
        events.append(
            {**base, "name": "web_vital", "url": landing, "props": vital, "timestamp": at + 1_000}
        )
        error = {"message": "-1 is not a function" if n % 2 else "x is undefined", "line": 3}
        events.append(
            {**base, "name": "js_error", "url": landing, "props": error, "timestamp": at + 2_000}
        )
        if n % 3 == 0:
            link = {"url": "https://github.com/clycyo/clycyo"}
            events.append(
                {**base, "name": "outbound_click", "url": landing, "props": link, "timestamp": at}
            )
    return events


def _send(site: Site) -> None:
    status, answer = site.post("/api/collect", {"batch": _events(site.site)}, secret=True)
    assert status == 200 and not answer["rejected"], answer


def unzipped(response: httpx.Response) -> dict[str, list[list[str]]]:
    """The CSV files of an export: each file's rows, its header first."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {
            name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))
            for name in archive.namelist()
        }


def cells(values: list[Any]) -> list[str]:
    """Values as the CSV writer writes them (no value: an empty cell)."""
    return ["" if v is None else str(safe_cell(v)) for v in values]


def panel_rows(client: httpx.Client, base: str, panel: str, tab: str, view: str) -> list[Any]:
    data = client.get(f"{base}/panels/{panel}.json?{view}&tab={tab}&limit=500").json()
    header = cells(data["columns"])
    return [header, *(cells([r["label"], *r["detail"], *r["numbers"]]) for r in data["rows"])]


def _matches_the_panels(
    files: dict[str, list[list[str]]], client: httpx.Client, base: str, view: str
) -> None:
    for (panel, tab), name in TABS.items():
        assert files[name] == panel_rows(client, base, panel, tab, view), name
    overview = client.get(f"{base}.json?{view}").json()
    series = files["visitors.csv"]
    assert series[0] == ["Day", *(card["label"] for card in overview["cards"])]
    assert [(bucket(r[0]), int(r[1])) for r in series[1:]] == [
        tuple(p) for p in overview["chart"]["points"]
    ]
    pageviews = {c["metric"]: c["value"] for c in overview["cards"]}["pageviews"]
    assert sum(int(r[3]) for r in series[1:]) == pageviews
    errors = client.get(f"{base}/panels/errors.json?{view}&limit=500").json()["errors"]
    assert files["js_errors.csv"] == [
        ["Error", "Count", "Visitors"],
        *(cells([e["message"], e["events"], e["visitors"]]) for e in errors),
    ]
    vitals = client.get(f"{base}/panels/vitals.json?{view}&limit=500").json()
    assert files["web_vitals_pages.csv"] == [
        ["Page", "LCP p75"],
        *(cells([p["page"], p["metrics"]["LCP"]["p75"]]) for p in vitals["pages"]),
    ]
    lcp = vitals["metrics"][0]
    shares = [lcp[rating] for rating in ("good", "needs-improvement", "poor")]
    row = [lcp["metric"], lcp["p75"], "ms", *shares, int(lcp["samples"])]
    assert files["web_vitals.csv"][1] == cells(row)


@pytest.fixture(scope="module")
def chdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own on ClickHouse's in-process engine."""
    if not available("chdb"):
        pytest.skip("chDB is not installed (pip install '.[clickhouse]')")
    folder = tmp_path_factory.mktemp("export-chdb")
    server = ServerProcess(folder / "data", extra_args=("--storage", f"chdb://{folder / 'ch'}"))
    yield server.start()
    server.stop()


@pytest.fixture(params=["duckdb", "chdb"])
def engine_site(request: pytest.FixtureRequest, shared_server: ServerProcess) -> Site:
    if request.param == "duckdb":
        return shared_server.add_site()
    server: ServerProcess = request.getfixturevalue("chdb_server")
    return server.add_site()


def test_the_export_holds_the_panels_rows(engine_site: Site, clients: Clients) -> None:
    site = engine_site
    _send(site)
    client = site_user(site, f"export-{site.site}@example.com", clients)
    base = f"/sites/{site.site}"
    answer = client.get(f"{base}/export?{VIEW}")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * 86400))
    expected = f'attachment; filename="{site.site}_{first}_{today}.zip"'
    assert answer.headers["content-disposition"] == expected
    assert answer.headers["cache-control"] == "no-store"
    files = unzipped(answer)
    _matches_the_panels(files, client, base, VIEW)
    assert "regions.csv" not in files and "cities.csv" not in files  # no visit has one
    assert "custom_props.csv" not in files  # the panel lists properties of a goal only
    sources = dict((r[0], r[1]) for r in files["sources.csv"][1:])
    assert sources == {"news": "4", "Google": "2"}
    assert files["outbound_links.csv"] == [
        ["URL", "Visitors", "Events"],
        ["https://github.com/clycyo/clycyo", "2", "2"],
    ]
    # The overview links to the export of its own view.
    html = client.get(f"{base}?{VIEW}&f=is,visit:source,Google").text
    assert f'href="{base}/export?period=7d&amp;f=is%2Cvisit%3Asource%2CGoogle"' in html


def test_filters_and_a_goal_narrow_every_file(server: Site, clients: Clients) -> None:
    _send(server)
    client = site_user(server, f"filters-{server.site}@example.com", clients)
    base = f"/sites/{server.site}"
    view = f"{VIEW}&f=is,visit:source,Google"
    files = unzipped(client.get(f"{base}/export?{view}"))
    _matches_the_panels(files, client, base, view)
    assert files["sources.csv"][1:] == [["Google", "2"]]
    assert [r[0] for r in files["utm_campaigns.csv"][1:]] == ["(none)"]
    goal = f"{VIEW}&f=is,event:name,signup"
    files = unzipped(client.get(f"{base}/export?{goal}"))
    # A goal does not narrow rage clicks, vitals and errors, and a goal with no money has no
    # revenue: their panels say so, and they have no file.
    for (panel, tab), name in TABS.items():
        if panel in ("rage", "links", "revenue"):
            assert name not in files
        else:
            assert files[name] == panel_rows(client, base, panel, tab, goal), name
    assert not {"js_errors.csv", "web_vitals.csv", "web_vitals_pages.csv"} & set(files)
    assert files["sources.csv"][0] == ["Source", "Conversions", "CR"]
    props = panel_rows(client, base, "goals", "prop:plan", goal)
    assert files["custom_props.csv"] == [
        ["Property", "Value", "Visitors", "Events"],
        *(["plan", *row] for row in props[1:]),
    ]
    # The same goal chosen as a goal (the Filter form's Goal) has the same property tabs.
    as_goal = f"{VIEW}&f=is,event:goal,signup"
    tabs = client.get(f"{base}/panels/goals.json?{as_goal}").json()["tabs"]
    assert [t["tab"] for t in tabs] == ["events", "prop:plan"]
    assert panel_rows(client, base, "goals", "prop:plan", as_goal) == props
    overview = client.get(f"{base}.json?{goal}").json()
    series = files["visitors.csv"]
    assert series[0] == ["Day", *(card["label"] for card in overview["cards"])]
    totals = [card["value"] for card in overview["cards"]]
    assert [sum(int(r[i]) for r in series[1:]) for i in (1, 2, 3)] == totals[:3]


def test_a_filter_web_vitals_cannot_take_leaves_only_their_files_out(
    server: Site, clients: Clients
) -> None:
    _send(server)
    client = site_user(server, f"touch-{server.site}@example.com", clients)
    base = f"/sites/{server.site}"
    view = f"{VIEW}&f=is,first_touch:source,Google"
    # Web vitals' percentiles take no first- or last-touch filter: their panel says so.
    vitals = client.get(f"{base}/panels/vitals.json?{view}")
    assert vitals.status_code == 400, vitals.text
    assert "first_touch:source cannot filter" in vitals.json()["error"]
    files = unzipped(client.get(f"{base}/export?{view}"))
    assert not {"web_vitals.csv", "web_vitals_pages.csv"} & set(files)
    for (panel, tab), name in TABS.items():
        assert files[name] == panel_rows(client, base, panel, tab, view), name
    assert files["sources.csv"][1:] == [["Google", "2"]]
    assert len(files["js_errors.csv"]) == 3  # the header, and the two visitors' errors
    # With a goal too: its properties are listed as without that filter, and counted with it.
    goal = f"{view}&f=is,event:name,signup"
    files = unzipped(client.get(f"{base}/export?{goal}"))
    assert files["conversions.csv"] == panel_rows(client, base, "goals", "events", goal)
    props = panel_rows(client, base, "goals", "prop:plan", goal)
    assert files["custom_props.csv"] == [
        ["Property", "Value", "Visitors", "Events"],
        *(["plan", *row] for row in props[1:]),
    ]
    assert {row[1] for row in files["custom_props.csv"][1:]} == {"'=cmd|' /C calc'!A0", "pro"}


def test_values_a_spreadsheet_would_run_are_neutralised(server: Site, clients: Clients) -> None:
    _send(server)
    client = site_user(server, f"formulas-{server.site}@example.com", clients)
    files = unzipped(client.get(f"/sites/{server.site}/export?{VIEW}"))
    campaigns = {r[0] for r in files["utm_campaigns.csv"][1:]}
    assert {HOSTILE[c] for c in list(HOSTILE)[:4]} <= campaigns
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in campaigns)
    errors = {r[0] for r in files["js_errors.csv"][1:]}
    assert errors == {"'-1 is not a function", "x is undefined"}
    goal = unzipped(client.get(f"/sites/{server.site}/export?{VIEW}&f=is,event:name,signup"))
    assert ["plan", "'=cmd|' /C calc'!A0", "1", "1"] in goal["custom_props.csv"]
    assert [safe_cell(text) for text in HOSTILE] == list(HOSTILE.values())
    # Numbers stay numbers, a negative one too.
    assert safe_cell(-3) == -3 and safe_cell("-3") == "'-3" and safe_cell("/-3") == "/-3"


def test_a_shared_link_downloads_what_its_viewer_sees(server: Site, clients: Clients) -> None:
    _send(server)
    made = json.loads(clycyo("share", "add", "--site", server.site, "--json", data=server.data_dir))
    viewer = clients.new(server.server)
    files = unzipped(viewer.get(f"{made['path']}/export?{VIEW}"))
    _matches_the_panels(files, viewer, made["path"], VIEW)
    client = site_user(server, f"shared-{server.site}@example.com", clients)
    assert unzipped(client.get(f"/sites/{server.site}/export?{VIEW}")) == files
    clycyo("share", "revoke", str(made["id"]), data=server.data_dir)
    revoked = viewer.get(f"{made['path']}/export?{VIEW}")
    assert revoked.status_code == 404 and "zip" not in revoked.headers["content-type"]


def test_no_export_without_a_login_or_of_a_site_not_granted(
    server: Site, shared_server: ServerProcess, clients: Clients, tmp_path: Path
) -> None:
    _send(server)
    path = f"/sites/{server.site}/export?{VIEW}"
    anonymous = clients.new(server.server).get(path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    assert clients.new(server.server).get(f"/share/sh_nothing/export?{VIEW}").status_code == 404
    other = shared_server.add_site()
    client = site_user(other, f"other-{other.site}@example.com", clients)
    refused = client.get(path)
    assert refused.status_code == 404 and "zip" not in refused.headers["content-type"]
    assert client.get(f"/sites/{other.site}/export?{VIEW}").status_code == 200
    out_of_range = client.get(
        f"/sites/{other.site}/export?period=custom&from=1800-01-01&to=1800-01-02"
    )
    assert out_of_range.status_code == 400
