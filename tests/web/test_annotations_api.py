"""The annotations API over real HTTP: a deploy job marks a release with the site's secret key or
an API token; a public key, a shared link and another site's credentials change nothing; what is
refused names the field; a period's annotations are listed; a delete reaches only its own site's."""

from __future__ import annotations

import json
from typing import Any

from clycyo.config.access import AccessStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, Site

PATH = "/api/v1/annotations"


def send(
    server: ServerProcess, method: str, path: str, bearer: str | None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    data = None if body is None else json.dumps(body).encode()
    return server.request(method, path, data, headers)


def access(site: Site) -> tuple[AccessStore, int]:
    config = ConfigStore(site.data_dir / "config.sqlite")
    found = config.site_by_domain(site.site)
    assert found is not None
    return AccessStore(config), found.id


def test_a_deploy_is_marked_with_the_secret_key_or_a_token(shared_server: ServerProcess) -> None:
    site = shared_server.add_site(timezone="Europe/Berlin")
    status, made = send(
        shared_server,
        "POST",
        PATH,
        site.secret_key,
        {"site": site.site, "text": "Release 2.4", "time": "2026-11-20T14:30:00Z"},
    )
    assert status == 201, made
    assert made["site"] == site.site and made["time"] == "2026-11-20T14:30:00Z"
    assert (made["text"], made["created_by"]) == ("Release 2.4", "api")
    store, site_id = access(site)
    token, _ = store.add_api_token([site_id], "ci")
    status, day = send(
        shared_server,
        "POST",
        PATH,
        token,
        {"site": site.site, "text": "Sale", "time": "2026-11-27"},
    )
    assert status == 201 and day["time"] == "2026-11-26T23:00:00Z", day  # the day's start there
    status, now = send(shared_server, "POST", PATH, token, {"site": site.site, "text": "Deploy"})
    assert status == 201 and now["time"] > "2026-11-27"
    status, listed = shared_server.get(f"{PATH}?site={site.site}", bearer=site.secret_key)
    assert status == 200
    assert [a["text"] for a in listed["annotations"]] == ["Release 2.4", "Sale", "Deploy"]
    ranged = f"{PATH}?site={site.site}&from=2026-11-20&to=2026-11-26"
    status, listed = shared_server.get(ranged, bearer=token)
    assert status == 200 and [a["id"] for a in listed["annotations"]] == [made["id"]]
    status, gone = send(shared_server, "DELETE", f"{PATH}/{made['id']}", token)
    assert (status, gone) == (200, {"deleted": made["id"], "site": site.site})
    status, again = send(shared_server, "DELETE", f"{PATH}/{made['id']}", site.secret_key)
    assert status == 404 and again == {"error": f"id: no annotation '{made['id']}'"}


def test_other_credentials_change_nothing(shared_server: ServerProcess) -> None:
    site = shared_server.add_site()
    other = shared_server.add_site()
    store, site_id = access(site)
    link, _ = store.add_shared_link(site_id)
    _, other_id = access(other)
    other_token, _ = store.add_api_token([other_id], "elsewhere")
    status, mine = send(
        shared_server, "POST", PATH, site.secret_key, {"site": site.site, "text": "Kept"}
    )
    assert status == 201
    body = {"site": site.site, "text": "Intruder"}
    # (credential, its post's status, its delete's): another site's credential finds no
    # annotation of that id at all, so it learns nothing of it.
    for bearer, posted, deleted in (
        (None, 401, 401),
        (site.public_key, 401, 401),
        (other.secret_key, 403, 404),
        (other_token, 403, 404),
        (link, 403, 403),
    ):
        status, answer = send(shared_server, "POST", PATH, bearer, body)
        assert status == posted and answer["error"], (bearer, answer)
        status, answer = send(shared_server, "DELETE", f"{PATH}/{mine['id']}", bearer)
        assert status == deleted and answer["error"], (bearer, answer)
        status, answer = shared_server.get(f"{PATH}?site={site.site}", bearer=bearer)
        assert status in (401, 403), (bearer, answer)
    status, listed = shared_server.get(f"{PATH}?site={site.site}", bearer=site.secret_key)
    assert [a["text"] for a in listed["annotations"]] == ["Kept"]


def test_what_is_refused_names_the_field(shared_server: ServerProcess) -> None:
    site = shared_server.add_site()
    key = site.secret_key
    for body, error in (
        ({"text": "No site"}, "site: required, a string"),
        ({"site": site.site}, "text: required, a string"),
        ({"site": site.site, "text": 7}, "text: required, a string"),
        ({"site": site.site, "text": "x" * 201}, "text: at most 200 characters"),
        ({"site": site.site, "text": "a\nb"}, "text: one line, with no control characters"),
        # A lone surrogate (a JSON escape) is no text SQLite or a JSON answer can hold.
        ({"site": site.site, "text": "a\ud800"}, "text: not valid Unicode text"),
        ({"site": "\udc00.example", "text": "A"}, "site: not valid Unicode text"),
        ({"site": site.site, "text": "A", "time": 5}, "time: a string"),
        ({"site": site.site, "text": "A", "time": "soon"}, "time: 'soon' is not a day or a time"),
        ([1, 2], "body: expected a JSON object"),
    ):
        status, answer = send(shared_server, "POST", PATH, key, body)
        assert status == 400 and answer["error"].startswith(error), (body, answer)
    status, answer = shared_server.request("POST", PATH, b"{", {"Authorization": f"Bearer {key}"})
    assert (status, answer) == (400, {"error": "body: not valid JSON"})
    deep = b"[" * 10_000  # within the body's 16 KiB, past the JSON reader's depth
    status, answer = shared_server.request("POST", PATH, deep, {"Authorization": f"Bearer {key}"})
    assert (status, answer) == (400, {"error": "body: JSON nested too deeply"})
    status, answer = shared_server.get(f"{PATH}?site={site.site}&from=yesterday", bearer=key)
    assert status == 400 and answer["error"].startswith("from: 'yesterday' is not a day")
    status, answer = shared_server.get(PATH, bearer=key)
    assert (status, answer) == (400, {"error": "site: required"})
    for wrong in ("abc", "0", "-1", str(2**63), "1e3"):
        status, answer = send(shared_server, "DELETE", f"{PATH}/{wrong}", key)
        assert status == 404 and answer["error"].startswith("id: no annotation"), (wrong, answer)


def test_a_day_as_to_is_included_whole_the_day_the_clocks_go_back(
    shared_server: ServerProcess,
) -> None:
    site = shared_server.add_site(timezone="Europe/Berlin")
    key = site.secret_key
    for text, time in (("Late", "2026-10-25T22:30:00Z"), ("Next day", "2026-10-25T23:00:00Z")):
        body = {"site": site.site, "text": text, "time": time}
        assert send(shared_server, "POST", PATH, key, body)[0] == 201
    # 23:30 on the 25th in Berlin, a 25-hour day: the 24 hours after its start end at 23:00.
    day = f"{PATH}?site={site.site}&from=2026-10-25&to=2026-10-25"
    status, listed = shared_server.get(day, bearer=key)
    assert status == 200 and [a["text"] for a in listed["annotations"]] == ["Late"]
