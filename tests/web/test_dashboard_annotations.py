"""Annotations on the dashboard over real HTTP: the Settings page's form adds one (made by the
login) and deletes it, refuses what is no time or text with the reason (escaped), and reaches
only its own site's; the overview's `.json` twin places the period's annotations at their
buckets, by day and by hour, and a shared link reads them without who made them; the export has
the period's annotations as a file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import httpx

from clycyo.config.access import AccessStore
from clycyo.config.annotations import AnnotationStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, Site
from tests.web.http_login import Clients, clients, settings_csrf, site_user

__all__ = ["clients"]  # the fixture

HOSTILE = "<img src=x onerror=alert(1)>"


def _listed(client: httpx.Client, site: Site) -> list[dict[str, object]]:
    answer = client.get(f"/sites/{site.site}/settings.json")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["annotations"])


def _config(site: Site) -> ConfigStore:
    return ConfigStore(site.data_dir / "config.sqlite")


def _store(site: Site) -> tuple[AnnotationStore, int]:
    config = _config(site)
    found = config.site_by_domain(site.site)
    assert found is not None
    return AnnotationStore(config), found.id


def _utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def test_annotations_are_added_and_deleted_on_the_settings_page(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site(timezone="Europe/Berlin")
    email = f"notes-{site.site}@example.com"
    client = site_user(site, email, clients)
    url = f"/sites/{site.site}/settings/annotations"
    page = client.get(f"/sites/{site.site}/settings").text
    assert "<h2>Annotations</h2>" in page and "data-add-annotation" in page
    form = {"csrf": settings_csrf(client, site.site), "text": HOSTILE, "time": "2026-11-20"}
    added = client.post(url, data=form)
    assert added.status_code == 303 and added.headers["location"].endswith("#annotations")
    [made] = _listed(client, site)
    assert made["text"] == HOSTILE and made["created_by"] == email
    assert made["time"] == "2026-11-19T23:00:00Z" and made["local"] == "2026-11-20 00:00"
    page = client.get(f"/sites/{site.site}/settings").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and HOSTILE not in page
    for fields, reason in (
        ({"text": "x" * 201}, "text: at most 200 characters"),
        ({"text": "Release", "time": "next <b>week</b>"}, "time: &#39;next &lt;b&gt;week"),
    ):
        refused = client.post(url, data={"csrf": settings_csrf(client, site.site), **fields})
        assert refused.status_code == 400 and f"Not added: {reason}" in refused.text
    now = client.post(url, data={"csrf": settings_csrf(client, site.site), "text": "Now"})
    assert now.status_code == 303
    assert [a["text"] for a in _listed(client, site)] == ["Now", HOSTILE]  # newest first
    # Another site's annotation is none of this page's: 404, and it stays.
    other = shared_server.add_site()
    store, other_id = _store(other)
    theirs = store.add(other_id, "Theirs", created_by="cli")
    for annotation_id in (str(theirs.id), "abc"):
        answer = client.post(
            f"{url}/delete",
            data={"csrf": settings_csrf(client, site.site), "id": annotation_id},
        )
        assert answer.status_code == 404
    assert store.list(other_id) == [theirs]
    deleted = client.post(
        f"{url}/delete", data={"csrf": settings_csrf(client, site.site), "id": str(made["id"])}
    )
    assert deleted.status_code == 303
    assert [a["text"] for a in _listed(client, site)] == ["Now"]
    without_token = client.post(url, data={"text": "No token"})
    assert without_token.status_code == 403


def test_the_chart_places_the_periods_annotations_at_their_buckets(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site(timezone="Europe/Berlin")
    client = site_user(site, f"chart-{site.site}@example.com", clients)
    store, site_id = _store(site)
    for text, at in (
        ("Before", "2026-11-09T22:59:00"),  # 23:59 on the 9th in Berlin: outside
        ("First day", "2026-11-09T23:00:00"),  # 00:00 on the 10th in Berlin
        ("Release", "2026-11-12T14:30:00"),
        ("Hotfix", "2026-11-12T16:00:00"),
        ("Last day", "2026-11-16T22:59:00"),  # 23:59 on the 16th
        ("After", "2026-11-16T23:00:00"),
    ):
        store.add(site_id, text, at=_utc(at), created_by="cli")
    days = client.get(f"/sites/{site.site}.json?period=custom&from=2026-11-10&to=2026-11-16")
    assert days.status_code == 200, days.text
    chart = days.json()["chart"]
    assert chart["points"][0][0] == "2026-11-10T00:00:00"
    marks = chart["annotations"]
    assert [(m["text"], m["bucket"]) for m in marks] == [
        ("First day", "2026-11-10T00:00:00"),
        ("Release", "2026-11-12T00:00:00"),
        ("Hotfix", "2026-11-12T00:00:00"),
        ("Last day", "2026-11-16T00:00:00"),
    ]
    assert marks[1]["time"] == "2026-11-12T14:30:00Z" and marks[1]["local"] == "2026-11-12 15:30"
    assert "created_by" not in marks[1]
    hours = client.get(f"/sites/{site.site}.json?period=custom&from=2026-11-12&to=2026-11-12")
    marks = hours.json()["chart"]["annotations"]
    assert [(m["text"], m["bucket"]) for m in marks] == [
        ("Release", "2026-11-12T15:00:00"),
        ("Hotfix", "2026-11-12T17:00:00"),
    ]
    link, _ = AccessStore(_config(site)).add_shared_link(site_id)
    shared = httpx.get(
        f"{site.url}/share/{link}.json?period=custom&from=2026-11-12&to=2026-11-12", timeout=30
    )
    assert shared.status_code == 200
    assert [m["text"] for m in shared.json()["chart"]["annotations"]] == ["Release", "Hotfix"]
    assert "cli" not in str(shared.json()["chart"]["annotations"])


def test_a_weekly_chart_marks_nothing_before_the_period(
    shared_server: ServerProcess, clients: Clients
) -> None:
    # 1 July 2026 is a Wednesday: the chart's first week begins on Monday 29 June, but the
    # period, and so its line, its totals and its export, begins on the 1st.
    site = shared_server.add_site(timezone="Europe/Berlin")
    client = site_user(site, f"weeks-{site.site}@example.com", clients)
    store, site_id = _store(site)
    store.add(site_id, "Before", at=_utc("2026-06-30T12:00:00"), created_by="cli")
    store.add(site_id, "First day", at=_utc("2026-06-30T22:00:00"), created_by="cli")  # 00:00
    view = "period=custom&from=2026-07-01&to=2026-11-16"
    weeks = client.get(f"/sites/{site.site}.json?{view}")
    assert weeks.status_code == 200, weeks.text
    chart = weeks.json()["chart"]
    assert chart["interval"] == "week" and chart["points"][0][0] == "2026-06-29T00:00:00"
    marks = [(m["text"], m["bucket"]) for m in chart["annotations"]]
    assert marks == [("First day", "2026-06-29T00:00:00")]
    export = client.get(f"/sites/{site.site}/export?{view}")
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("annotations.csv").decode())))
    assert [row[2] for row in rows[1:]] == ["First day"]  # the chart and the export agree


def test_the_export_holds_the_periods_annotations(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site(timezone="Europe/Berlin")
    client = site_user(site, f"export-{site.site}@example.com", clients)
    view = "period=custom&from=2026-11-10&to=2026-11-16"
    bare = client.get(f"/sites/{site.site}/export?{view}")
    assert "annotations.csv" not in zipfile.ZipFile(io.BytesIO(bare.content)).namelist()
    store, site_id = _store(site)
    store.add(site_id, "=1+1 campaign", at=_utc("2026-11-12T14:30:00"), created_by="cli")
    store.add(site_id, "Outside", at=_utc("2026-11-16T23:00:00"), created_by="cli")
    answer = client.get(f"/sites/{site.site}/export?{view}")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        text = archive.read("annotations.csv").decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["Time (UTC)", "Local time", "Annotation"],
        ["2026-11-12T14:30:00Z", "2026-11-12 15:30", "'=1+1 campaign"],  # no formula
    ]
