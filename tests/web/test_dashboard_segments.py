"""Segments on the dashboard over real HTTP: the overview's form saves the view's filters under a
name (made by the login), the Segments menu lists them (escaped) with links to the view with
exactly a segment's filters, period, comparison and chart kept, and deletes one; a name or filter
that is not one is refused with the reason and nothing saved; a post without the page's CSRF
token, of another site's segment, or by a viewer login changes nothing, while a viewer still uses
them; a shared link is shown none. The query API applies one by its id."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from clycyo.config.access import AccessStore
from clycyo.config.passwords import hash_password
from clycyo.config.segments import SegmentStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, Site
from tests.web.http_login import PASSWORD, Clients, clients, csrf_in, site_user

__all__ = ["clients"]  # the fixture

HOSTILE = "<img src=x onerror=alert(1)>"
VIEW = "period=7d&compare=off&f=is,visit:source,Google&f=is,visit:country,DE"
FILTERS = [["is", "visit:source", ["Google"]], ["is", "visit:country", ["DE"]]]


def _store(site: Site) -> tuple[SegmentStore, int]:
    config = ConfigStore(site.data_dir / "config.sqlite")
    found = config.site_by_domain(site.site)
    assert found is not None
    return SegmentStore(config), found.id


def _overview(client: httpx.Client, site: Site, query: str = VIEW) -> dict[str, object]:
    answer = client.get(f"/sites/{site.site}.json?{query}")
    assert answer.status_code == 200, answer.text
    data: dict[str, object] = answer.json()
    return data


def _segments(client: httpx.Client, site: Site, query: str = VIEW) -> list[dict[str, object]]:
    return list(_overview(client, site, query)["segments"])  # type: ignore[call-overload]


def _csrf(client: httpx.Client, site: Site) -> str:
    page = client.get(f"/sites/{site.site}?{VIEW}")
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


def test_a_views_filters_are_saved_listed_applied_and_deleted(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site()
    email = f"segments-{site.site}@example.com"
    client = site_user(site, email, clients)
    base = f"/sites/{site.site}"
    bare = client.get(f"{base}?period=7d").text
    assert "data-segments" in bare and "No segments yet" in bare
    assert "data-save-segment" not in bare  # nothing to save without filters
    page = client.get(f"{base}?{VIEW}").text
    assert "data-save-segment" in page
    saved = client.post(
        f"{base}/segments", data={"csrf": csrf_in(page), "name": HOSTILE, "view": VIEW}
    )
    assert saved.status_code == 303
    location = urlsplit(saved.headers["location"])
    assert location.path == base
    assert parse_qs(location.query)["f"] == ["is,visit:source,Google", "is,visit:country,DE"]
    store, site_id = _store(site)
    [made] = store.list(site_id)
    assert made.name == HOSTILE and made.created_by == email and made.query_filters() == FILTERS
    [listed] = _segments(client, site)
    assert listed["name"] == HOSTILE and listed["filters"] == FILTERS and listed["current"]
    page = client.get(f"{base}?{VIEW}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and HOSTILE not in page
    assert f'data-segment="{made.id}" aria-current="true"' in page

    # From another view, its link has exactly its filters, the period, comparison and chart kept.
    elsewhere = "period=30d&compare=year&f=is,visit:device,Mobile&metric=pageviews"
    [other_view] = _segments(client, site, elsewhere)
    assert not other_view["current"]
    link = parse_qs(str(other_view["params"]))
    assert link == {
        "period": ["30d"],
        "compare": ["year"],
        "f": ["is,visit:source,Google", "is,visit:country,DE"],
        "metric": ["pageviews"],
    }
    link_html = f'href="{base}?{other_view["params"]}"'.replace("&", "&amp;")
    assert link_html in client.get(f"{base}?{elsewhere}").text
    applied = _overview(client, site, str(other_view["params"]))
    assert applied["filters"] == FILTERS and applied["compare"] == "year"

    deleted = client.post(
        f"{base}/segments/delete", data={"csrf": _csrf(client, site), "id": made.id, "view": VIEW}
    )
    assert deleted.status_code == 303 and urlsplit(deleted.headers["location"]).path == base
    assert store.list(site_id) == [] and _segments(client, site) == []


def test_what_is_no_segment_is_refused_with_the_reason(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site()
    client = site_user(site, f"refused-{site.site}@example.com", clients)
    url = f"/sites/{site.site}/segments"
    first = client.post(url, data={"csrf": _csrf(client, site), "name": "Paid", "view": VIEW})
    assert first.status_code == 303
    for fields, reason in (
        ({"name": "PAID"}, "name: the site has a segment named &#39;PAID&#39; already"),
        ({"name": "  "}, "name: required"),
        ({"name": "x" * 81}, "name: at most 80 characters"),
        ({"name": "No filters", "view": "period=7d"}, "filters: choose at least one filter"),
        (
            {"name": "Planets", "view": "f=is,visit:planet,<b>Mars</b>"},
            "filters[0][1]: unknown dimension &#39;visit:planet&#39;",
        ),
    ):
        form = {"csrf": _csrf(client, site), "view": VIEW, **fields}
        refused = client.post(url, data=form)
        assert refused.status_code == 400 and reason in refused.text, refused.text
        assert "Segment not saved" in refused.text and "<b>Mars" not in refused.text
    store, site_id = _store(site)
    assert [s.name for s in store.list(site_id)] == ["Paid"]


def test_posts_without_the_token_or_of_another_site_change_nothing(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site()
    client = site_user(site, f"csrf-{site.site}@example.com", clients)
    base = f"/sites/{site.site}"
    store, site_id = _store(site)
    mine = store.add(site_id, "Mine", FILTERS, created_by="cli")
    for csrf in ("", "not-the-token"):
        saved = client.post(f"{base}/segments", data={"csrf": csrf, "name": "X", "view": VIEW})
        assert saved.status_code == 403
        gone = client.post(f"{base}/segments/delete", data={"csrf": csrf, "id": mine.id})
        assert gone.status_code == 403
    stranger = clients.new(shared_server)
    answer = stranger.post(f"{base}/segments", data={"csrf": "x", "name": "X", "view": VIEW})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    other = shared_server.add_site()
    other_store, other_id = _store(other)
    theirs = other_store.add(other_id, "Theirs", FILTERS, created_by="cli")
    for segment_id in (theirs.id, "abc", 2**63):
        answer = client.post(
            f"{base}/segments/delete", data={"csrf": _csrf(client, site), "id": segment_id}
        )
        assert answer.status_code == 404
    # Nor may the login post to a site it does not read.
    answer = client.post(
        f"/sites/{other.site}/segments",
        data={"csrf": _csrf(client, site), "name": "X", "view": VIEW},
    )
    assert answer.status_code == 404
    assert [s.name for s in store.list(site_id)] == ["Mine"]
    assert [s.name for s in other_store.list(other_id)] == ["Theirs"]


def test_a_viewer_uses_segments_and_may_not_change_them(
    shared_server: ServerProcess, clients: Clients
) -> None:
    site = shared_server.add_site()
    store, site_id = _store(site)
    made = store.add(site_id, "Paid", FILTERS, created_by="cli")
    email = f"viewer-{site.site}@example.com"
    config = ConfigStore(site.data_dir / "config.sqlite")
    config.add_user(email, hash_password(PASSWORD), [site_id], role="viewer")
    status, viewer = clients.log_in(shared_server, email, PASSWORD)
    assert status == 303
    [listed] = _segments(viewer, site)
    assert listed["name"] == "Paid" and listed["current"]
    page = viewer.get(f"/sites/{site.site}?{VIEW}").text
    assert f'data-segment="{made.id}"' in page
    assert "data-save-segment" not in page and "data-delete-segment" not in page
    csrf = csrf_in(page)  # the logout form's: the session's token
    base = f"/sites/{site.site}"
    for path, form in (
        ("/segments", {"name": "Viewer's", "view": VIEW}),
        ("/segments/delete", {"id": made.id, "view": VIEW}),
    ):
        answer = viewer.post(base + path, data={"csrf": csrf, **form})
        assert answer.status_code == 403 and "a viewer login only reads" in answer.text
    assert [s.name for s in store.list(site_id)] == ["Paid"]
    # A shared link reads the overview, not the team's segments.
    token, _ = AccessStore(config).add_shared_link(site_id)
    reader = clients.new(shared_server)
    shared = reader.get(f"/share/{token}.json?{VIEW}")
    assert shared.status_code == 200 and shared.json()["segments"] == []
    page = reader.get(f"/share/{token}?{VIEW}")
    assert page.status_code == 200 and "data-segments" not in page.text


def test_the_query_api_applies_a_segment(server: Site) -> None:
    store, site_id = _store(server)
    made = store.add(site_id, "Paid", FILTERS, created_by="cli")
    body = {"site": server.site, "metrics": ["visitors"], "date_range": "7d"}
    status, answer = server.post(
        "/api/v1/query", {**body, "filters": [["is", "segment", [made.id]]]}, secret=True
    )
    assert status == 200 and answer["results"][0]["metrics"] == [0], answer
    unknown = [["is", "event:name", ["signup"]], ["is", "segment", [made.id + 1]]]
    status, answer = server.post("/api/v1/query", {**body, "filters": unknown}, secret=True)
    assert status == 400
    assert answer == {"error": f"filters[1]: no segment {made.id + 1} on this site"}
