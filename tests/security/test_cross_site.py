"""No credential reaches another site's data, on any endpoint, and public keys only write.

Two sites on one server. Each read endpoint is called with every credential that must not read
site A (B's secret key, A's own public key, an API token scoped to B, a revoked token, B's shared
link, a session of a user granted B only, a closed session, a cross-site request riding a
session); every answer must deny (401, 403 or 404) and must not contain A's data. A's own secret
key reading A is the control that shows each endpoint works at all. Endpoints that are not
served (yet) answer 404 too, which is also a denial; `ENDPOINTS` lists what is covered.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from clycyo.config.access import AccessStore
from clycyo.config.annotations import AnnotationStore
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigStore, hash_secret, key_id
from tests.serverproc import ServerProcess, Site

DENIED = {401, 403, 404}
PERSON = "person-a-1"
MARKER = "secret-of-site-a"


@dataclass
class World:
    server: ServerProcess
    a: Site
    b: Site
    config: ConfigStore
    access: AccessStore


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = ServerProcess(tmp_path_factory.mktemp("cross") / "data").start()
    a, b = server.add_site("site-a.example"), server.add_site("site-b.example")
    event = {
        "name": MARKER,
        "user_id": PERSON,
        "visitor_id": "visitor-a-1",
        "props": {"plan": MARKER},
    }
    assert a.post("/api/collect", event, secret=True)[0] == 200
    assert len(a.events()) == 1
    config = ConfigStore(server.data_dir / "config.sqlite")
    a_site = config.site_by_domain(a.site)
    assert a_site is not None
    AnnotationStore(config).add(a_site.id, MARKER, created_by="cli")  # the annotation of id 1
    yield World(server, a, b, config, AccessStore(config))
    server.stop()


def endpoints(domain: str) -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of every endpoint that reads or changes a site's data."""
    reads: list[tuple[str, str, Any]] = [
        ("GET", f"/api/v1/events?site={domain}", None),
        ("POST", "/api/v1/query", {"site": domain, "metrics": ["visitors"], "date_range": "7d"}),
        ("GET", f"/api/v1/persons?site={domain}", None),
        ("GET", f"/api/v1/persons/{PERSON}/timeline?site={domain}", None),
        ("GET", f"/api/v1/persons/{PERSON}/export?site={domain}", None),
        ("DELETE", f"/api/v1/persons/{PERSON}?site={domain}", None),
        ("GET", f"/api/v1/annotations?site={domain}", None),
        ("POST", "/api/v1/annotations", {"site": domain, "text": "x"}),
        ("DELETE", "/api/v1/annotations/1", None),
    ]
    for view in ("", "/panels/pages", "/funnels", "/why", "/people", f"/people/{PERSON}"):
        reads.append(("GET", f"/sites/{domain}{view}.json", None))
    for view in ("/realtime", "/settings", "/funnels/1", "/funnels/1/steps/1"):
        reads.append(("GET", f"/sites/{domain}{view}.json", None))
    for form in (
        "/funnels",
        "/funnels/1/delete",
        "/settings/links",
        "/settings/tokens",
        "/settings/keys",
        "/settings/goals",
        "/settings/shields",
    ):
        reads.append(("POST", f"/sites/{domain}{form}", {"name": "x", "label": "x", "id": "1"}))
    reporting = {"currency": "EUR", "timezone": "Europe/Berlin"}
    reads.append(("POST", f"/sites/{domain}/settings/reporting", reporting))
    for form in ("/settings/links/revoke", "/settings/tokens/revoke", "/settings/keys/revoke"):
        reads.append(("POST", f"/sites/{domain}{form}", {"id": "1"}))
    reads.append(("POST", f"/sites/{domain}/settings/goals/delete", {"id": "1"}))
    reads.append(("POST", f"/sites/{domain}/settings/shields/delete", {"id": "1"}))
    return reads


ENDPOINTS = [f"{m} {p}" for m, p, _ in endpoints("{site}")]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer of its own here (to the login page: a denial)


_opener = urllib.request.build_opener(_NoRedirect)


def call(
    world: World, method: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, str]:
    content_type = "application/json"
    data = None if body is None else json.dumps(body).encode()
    if method == "POST" and path.startswith("/sites/"):
        # Dashboard forms: form-encoded, with the session's CSRF token when there is one, so
        # that what is tested is the authorization, not the CSRF check in front of it.
        content_type = "application/x-www-form-urlencoded"
        fields = {**body, "csrf": headers.get("X-CSRF-Token", "")}
        data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(
        world.server.url + path,
        data=data,
        method=method,
        headers={"Content-Type": content_type, **headers},
    )
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        if exc.code == 303 and exc.headers.get("Location", "").startswith("/login"):
            return 401, text
        return exc.code, text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def session(world: World, sites: list[int] | None, fetch_site: str, close: bool = False) -> Any:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    user_id = world.config.add_user(email, hash_password("correct horse battery"), sites)
    token, opened = world.access.open_session(user_id)
    if close:
        world.access.close_session(token)
    return {
        "Cookie": f"clycyo_session={token}",
        "Sec-Fetch-Site": fetch_site,
        "X-CSRF-Token": opened.csrf_token,
    }


CREDENTIALS: dict[str, Callable[[World], dict[str, str]]] = {
    "no credentials": lambda w: {},
    "B's secret key": lambda w: bearer(w.b.secret_key),
    "A's public key": lambda w: bearer(w.a.public_key),
    "API token for B": lambda w: bearer(w.access.add_api_token([_id(w, w.b)])[0]),
    "revoked API token for A": lambda w: bearer(_revoked_token(w)),
    "B's shared link": lambda w: bearer(w.access.add_shared_link(_id(w, w.b))[0]),
    "the admin token": lambda w: bearer(_admin_token(w)),
    "session of a user of B": lambda w: session(w, [_id(w, w.b)], "same-origin"),
    "closed session": lambda w: session(w, None, "same-origin", close=True),
    "another site riding a session": lambda w: session(w, None, "cross-site"),
}


def _id(world: World, site: Site) -> int:
    found = world.config.site_by_domain(site.site)
    assert found is not None
    return found.id


def _revoked_token(world: World) -> str:
    token, api_token = world.access.add_api_token([_id(world, world.a)])
    assert world.access.revoke_api_token(api_token.id)
    return token


def _admin_token(world: World) -> str:
    return (world.server.data_dir / "admin.token").read_text().strip()


@pytest.mark.parametrize("credential", list(CREDENTIALS))
def test_no_credential_reads_or_changes_another_site(world: World, credential: str) -> None:
    headers = CREDENTIALS[credential](world)
    allowed = []
    for method, path, body in endpoints(world.a.site):
        status, text = call(world, method, path, body, headers)
        if status not in DENIED or MARKER in text:
            allowed.append(f"{method} {path} -> {status}")
    # A's secret keys by their real ids: none revoked, none made, none shown.
    a_id = _id(world, world.a)
    before = world.config.secret_keys(a_id)
    # A second live key, so that a revocation would not be refused as the site's last one.
    added = key_id(hash_secret(world.config.add_secret_key(a_id)))
    for key in before:
        path = f"/sites/{world.a.site}/settings/keys/revoke"
        status, text = call(world, "POST", path, {"id": key.id}, headers)
        if status not in DENIED or "sk_" in text:
            allowed.append(f"POST {path} ({key.id}) -> {status}")
    assert allowed == []
    after = {k.id: k.revoked_at for k in world.config.secret_keys(a_id)}
    assert after == {**{k.id: k.revoked_at for k in before}, added: None}
    world.config.revoke_secret_key_by_id(added)
    assert len(world.a.events()) == 1, "an event of site A was deleted"
    kept = AnnotationStore(world.config).list(a_id)
    assert [a.text for a in kept] == [MARKER], "site A's annotations were changed"


def test_the_owner_reads_its_own_site(world: World) -> None:
    """The control: with A's secret key the read API works, so the denials above mean something."""
    status, text = call(
        world, "GET", f"/api/v1/events?site={world.a.site}", None, {**bearer(world.a.secret_key)}
    )
    assert status == 200 and MARKER in text


def test_a_revoked_shared_link_and_token_stop_working(world: World) -> None:
    b_id = _id(world, world.b)
    link, shared = world.access.add_shared_link(b_id)
    assert world.server.request("GET", f"/share/{link}.json")[0] != 404
    assert world.access.revoke_shared_link(shared.id)
    assert world.server.request("GET", f"/share/{link}.json")[0] == 404
    token, api_token = world.access.add_api_token([b_id])
    events = f"/api/v1/events?site={world.b.site}"
    assert call(world, "GET", events, None, bearer(token))[0] == 200
    assert world.access.revoke_api_token(api_token.id)
    assert call(world, "GET", events, None, bearer(token))[0] == 401


def test_a_shared_link_only_reads(world: World) -> None:
    link, _ = world.access.add_shared_link(_id(world, world.b))
    status, _ = call(world, "DELETE", f"/api/v1/persons/x?site={world.b.site}", None, bearer(link))
    assert status in DENIED
    status, _ = call(world, "GET", f"/api/v1/persons?site={world.b.site}", None, bearer(link))
    assert status in DENIED  # persons are not aggregates
    for form in (
        "/settings/links",
        "/settings/tokens",
        "/settings/keys",
        "/settings/keys/revoke",
        "/settings/reporting",
        "/settings/goals",
        "/settings/shields",
        "/funnels",
    ):
        status, _ = call(world, "POST", f"/sites/{world.b.site}{form}", {}, bearer(link))
        assert status in DENIED, form


def test_site_keys_cannot_use_admin_endpoints(world: World) -> None:
    for path in (
        "/api/admin/backup",
        "/api/admin/export",
        "/api/admin/import",
        "/api/admin/retention",
        "/api/admin/faults",
        "/api/admin/quarantine/1/replay",
    ):
        for key in (world.a.secret_key, world.a.public_key):
            status, _ = call(
                world, "POST", path, {"site": world.a.site, "dest": "/tmp/x"}, bearer(key)
            )
            assert status == 401, path


def test_the_session_control_works_on_its_own_site(world: World) -> None:
    """A session of B's user reads B and may post B's forms: the denials on A are not CSRF."""
    headers = session(world, [_id(world, world.b)], "same-origin")
    assert call(world, "GET", f"/sites/{world.b.site}/settings.json", None, headers)[0] == 200
    status, _ = call(
        world, "POST", f"/sites/{world.b.site}/settings/links", {"label": "x"}, headers
    )
    assert status == 200
