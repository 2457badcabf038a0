"""Admin and viewer logins over real HTTP: a viewer reads what an admin reads of its sites, and
every state-changing route of the app refuses its session with 403, but for signing in and out
and its own two-factor sign-in. The routes are the app's own list (`web_routes`), so a route
added later without the role check fails here, and nothing a viewer posts changes the
configuration or erases anyone."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from clycyo.app import web_routes
from clycyo.config.funnels import FunnelStore, check_step
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigStore
from clycyo.web.access import READ_ONLY_POST_PREFIXES
from tests.serverproc import Site
from tests.web.http_login import PASSWORD, Clients, clients, csrf_in

__all__ = ["clients"]  # the fixture

PERSON = "ann-roles"
# What a viewer's session may post: signing in and out, and its own two-factor sign-in.
OWN_LOGIN_POSTS = {
    "/login",
    "/login/code",
    "/logout",
    "/account/two-factor",
    "/account/two-factor/off",
}
# Endpoints for local tools, which take the admin token and no session at all (401).
ADMIN_TOKEN_PREFIX = "/api/admin/"
SAFE = {"GET", "HEAD", "OPTIONS"}
VIEWER_REFUSAL = "a viewer login only reads"
# Whatever a form of the dashboard may ask for, so a route without the check would act on it.
FORM = {
    "name": "Viewer's funnel",
    "kind": "pageview",
    "match": "/",
    "label": "viewer's",
    "pattern": "/viewer/**",
    "value": "/viewer/**",
    "list": "weekly",
    "address": "viewer@example.com",
    "threshold": "3",
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "period": "week",
    "id": "1",
}


@dataclass
class Logins:
    site: Site
    admin: httpx.Client
    viewer: httpx.Client
    funnel_id: int

    def csrf(self, client: httpx.Client) -> str:
        page = client.get(f"/sites/{self.site.site}/settings")
        assert page.status_code == 200, page.text
        return csrf_in(page.text)


def _config(site: Site) -> ConfigStore:
    return ConfigStore(site.data_dir / "config.sqlite")


def _stored(site: Site) -> None:
    now_ms = int(time.time() * 1000)
    person = {"user_id": PERSON, "visitor_id": f"{PERSON}-v", "url": f"https://{site.site}/"}
    batch = [
        {**person, "type": "pageview", "timestamp": now_ms - 60_000},
        {**person, "name": "signup", "timestamp": now_ms - 30_000},
    ]
    status, body = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and body["accepted"] == 2, body
    deadline = time.monotonic() + 20
    while len(_timeline(site)) < 2:
        assert time.monotonic() < deadline, "the events were not stored"
        time.sleep(0.1)


def _timeline(site: Site) -> list[Any]:
    status, body = site.server.get(
        f"/api/v1/persons/{PERSON}/timeline?site={site.site}", bearer=site.secret_key
    )
    return list(body["events"]) if status == 200 else []


@pytest.fixture
def logins(server: Site, clients: Clients) -> Logins:
    config = _config(server)
    site = config.site_by_domain(server.site)
    assert site is not None
    made = {}
    for role in ("admin", "viewer"):
        email = f"{role}-{server.site}@example.com"
        config.add_user(email, hash_password(PASSWORD), [site.id], role=role)
        status, made[role] = clients.log_in(server.server, email, PASSWORD)
        assert status == 303
    steps = [check_step("pageview", "/", []), check_step("event", "signup", [])]
    funnel = FunnelStore(config).add(site.id, "Signup", steps)
    _stored(server)
    return Logins(server, made["admin"], made["viewer"], funnel.id)


def _changing_routes() -> list[tuple[str, str]]:
    """(method, path format) of every route of the app that may change state."""
    found = []
    for route in web_routes():
        if isinstance(route, Route):
            found += [(m, route.path_format) for m in sorted((route.methods or set()) - SAFE)]
    return found


def _path(path_format: str, logins: Logins) -> str:
    values = {"domain": logins.site.site, "funnel_id": logins.funnel_id, "id": PERSON}
    try:
        return path_format.format(**values, entry_id="1")
    except KeyError as exc:
        raise AssertionError(f"{path_format}: give the test a value for {exc}") from None


def _configuration(site: Site) -> dict[str, list[Any]]:
    """Every row of the configuration but sessions, salts and the time of the last login."""
    path: Path = site.data_dir / "config.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {}
        for table in sorted(set(tables) - {"dashboard_sessions", "salts"}):
            found = db.execute(f"SELECT * FROM {table}")
            names = [c[0] for c in found.description]
            rows[table] = sorted(
                (
                    tuple((n, v) for n, v in zip(names, row, strict=True) if n != "last_login_at")
                    for row in found
                ),
                key=repr,
            )
    db.close()
    return rows


def test_every_state_changing_route_refuses_a_viewer_and_changes_nothing(logins: Logins) -> None:
    routes = _changing_routes()
    # The list is the app's: the dashboard's forms and the erasure are in it.
    assert ("POST", "/sites/{domain}/settings/keys") in routes
    assert ("DELETE", "/api/v1/persons/{id}") in routes
    csrf = logins.csrf(logins.viewer)
    before = _configuration(logins.site)
    refused = []
    for method, path_format in routes:
        if path_format in OWN_LOGIN_POSTS or path_format.startswith(READ_ONLY_POST_PREFIXES):
            continue
        url = f"{_path(path_format, logins)}?site={logins.site.site}"
        answer = logins.viewer.request(
            method, url, data={**FORM, "csrf": csrf}, headers={"X-CSRF-Token": csrf}
        )
        if path_format.startswith(ADMIN_TOKEN_PREFIX):
            assert answer.status_code == 401, (path_format, answer.text[:200])
            continue
        assert answer.status_code == 403, (method, path_format, answer.status_code)
        assert VIEWER_REFUSAL in answer.text, (path_format, answer.text[:300])
        refused.append(path_format)
    made = {"keys", "tokens", "links", "goals", "shields", "email/recipients", "reporting"}
    assert {f"/sites/{{domain}}/settings/{form}" for form in made} <= set(refused)
    assert {"/sites/{domain}/funnels", "/api/v1/persons/{id}"} <= set(refused)
    assert _configuration(logins.site) == before
    assert len(_timeline(logins.site)) == 2  # nobody was erased
    # The viewer's session lives on: refusing a change does not log it out.
    assert logins.viewer.get(f"/sites/{logins.site.site}.json").status_code == 200


def test_the_same_forms_work_for_an_admin(logins: Logins) -> None:
    domain = logins.site.site
    csrf = logins.csrf(logins.admin)
    made = logins.admin.post(f"/sites/{domain}/settings/tokens", data={"csrf": csrf, "label": "x"})
    assert made.status_code == 200 and "ct_" in made.text
    goal = logins.admin.post(
        f"/sites/{domain}/settings/goals", data={"csrf": csrf, "pattern": "/admin-goal"}
    )
    assert goal.status_code == 303
    assert "/admin-goal" in logins.viewer.get(f"/sites/{domain}/settings").text  # a viewer sees it


def _views(logins: Logins) -> list[str]:
    base = f"/sites/{logins.site.site}"
    funnel = f"/funnels/{logins.funnel_id}"
    views = ["", "/panels/pages", "/funnels", funnel, f"{funnel}/steps/1", "/why", "/people"]
    views += [f"/people/{PERSON}", "/realtime", "/settings"]
    return [base + view for view in views]


def test_a_viewer_reads_what_an_admin_reads(logins: Logins) -> None:
    for view in _views(logins):
        for suffix in (".json", ""):
            answer = logins.viewer.get(f"{view}{suffix}?period=7d")
            assert answer.status_code == 200, (view, suffix, answer.text[:200])
    base = f"/sites/{logins.site.site}"
    for view in (f"/funnels/{logins.funnel_id}/steps/1", f"/people/{PERSON}", "/settings"):
        url = f"{base}{view}.json?period=7d"
        seen = [client.get(url).json() for client in (logins.viewer, logins.admin)]
        for data in seen:  # each login's own address, where a test report would go
            data.get("email", {}).pop("test_address", None)
        assert seen[0] == seen[1], view
    export = logins.viewer.get(f"{base}/export?period=7d")
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    site = logins.site.site
    for api in (
        f"/api/v1/persons?site={site}",
        f"/api/v1/persons/{PERSON}/timeline?site={site}",
        f"/api/v1/persons/{PERSON}/export?site={site}",
        f"/api/v1/realtime?site={site}",
    ):
        assert logins.viewer.get(api).status_code == 200, api
    body = {"site": site, "metrics": ["events"], "date_range": "7d"}
    csrf = logins.csrf(logins.viewer)
    query = logins.viewer.post("/api/v1/query", json=body, headers={"X-CSRF-Token": csrf})
    assert query.status_code == 200 and query.json()["results"][0]["metrics"] == [2]


def _forms(page: str) -> list[str]:
    """The actions of a page's forms that post."""
    return re.findall(r'<form[^>]*method="post"[^>]*action="([^"]*)"', page)


def test_a_viewer_is_shown_no_form_it_cannot_use(logins: Logins) -> None:
    base = f"/sites/{logins.site.site}"
    admin_forms = _forms(logins.admin.get(f"{base}/settings").text)
    assert f"{base}/settings/keys" in admin_forms and len(admin_forms) > 10
    settings = logins.viewer.get(f"{base}/settings").text
    assert _forms(settings) == ["/logout"]
    assert "This login is a viewer" in settings and "/viewer/" not in settings
    for view in ("/funnels", f"/funnels/{logins.funnel_id}", "", "/people", f"/people/{PERSON}"):
        assert _forms(logins.viewer.get(f"{base}{view}?period=7d").text) == ["/logout"], view
    assert f"{base}/funnels" in _forms(logins.admin.get(f"{base}/funnels").text)


def test_a_viewer_signs_out_and_keeps_its_own_two_factor_page(logins: Logins) -> None:
    viewer = logins.viewer
    assert viewer.get("/account").status_code == 200
    csrf = logins.csrf(viewer)
    # A damaged form is answered as for anyone (400), not refused for the role.
    damaged = viewer.post("/account/two-factor", data={"csrf": csrf, "secret": "x", "code": "1"})
    assert damaged.status_code == 400 and VIEWER_REFUSAL not in damaged.text
    out = viewer.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert viewer.get(f"/sites/{logins.site.site}.json").status_code == 401
