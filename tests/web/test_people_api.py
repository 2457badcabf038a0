"""The people endpoints address any user id, `/` included (sent as `%2F`), and check the
timeline's `limit`."""

from __future__ import annotations

from urllib.parse import quote

from tests.serverproc import Site


def _persons(site: Site, *users: str) -> None:
    batch = [
        {"name": "signed_up", "user_id": user, "event_id": f"e-{n}"} for n, user in enumerate(users)
    ]
    status, body = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and body["accepted"] == len(users), body


def _ask(site: Site, method: str, path: str, query: str = "") -> tuple[int, object]:
    return site.server.request(
        method,
        f"/api/v1/persons/{path}?site={site.site}{query}",
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )


def test_ids_with_a_slash_or_escapes_are_reachable(server: Site) -> None:
    ids = ["a/b", "org/7/user", "x/timeline", "50% off", "zoë"]
    _persons(server, "a", *ids)
    for person in ids:
        encoded = quote(person, safe="")
        status, body = _ask(server, "GET", f"{encoded}/timeline")
        assert status == 200, (person, body)
        assert isinstance(body, dict) and body["person"]["user_id"] == person
        assert [e["name"] for e in body["events"]] == ["signed_up"]
        status, body = _ask(server, "GET", f"{encoded}/export")
        assert status == 200, (person, body)
        assert isinstance(body, dict) and body["person"]["user_id"] == person
    status, body = _ask(server, "DELETE", quote("a/b", safe=""))
    assert status == 200 and isinstance(body, dict) and body["deleted"] == 1, body
    status, body = _ask(server, "GET", "a%2Fb/timeline")
    assert status == 404 and body == {"error": "id: no person 'a/b' on this site"}
    # The person `a` was not the one erased.
    assert _ask(server, "GET", "a/timeline")[0] == 200
    # An unescaped slash names no endpoint (nor the person `a`): a JSON answer all the same.
    for method, path in (("GET", "a/b/timeline"), ("GET", "a/unknown"), ("DELETE", "a/b")):
        status, body = _ask(server, method, path)
        assert status in (404, 405) and isinstance(body, dict) and body["error"], (path, body)
    assert _ask(server, "GET", "a/timeline")[0] == 200


def test_the_timeline_limit_is_1_to_5000(server: Site) -> None:
    _persons(server, "a")
    for limit, expected in (("1", 200), ("5000", 200), ("0", 400), ("5001", 400), ("-3", 400)):
        status, body = _ask(server, "GET", "a/timeline", f"&limit={limit}")
        assert status == expected, (limit, body)
        if status == 400:
            assert body == {"error": "limit: expected 1 to 5000"}
    status, body = _ask(server, "GET", "a/timeline", "&limit=abc")
    assert status == 400 and body == {"error": "limit: expected an integer"}
