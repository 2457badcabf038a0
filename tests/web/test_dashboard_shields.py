"""The settings page's Shields section over real HTTP: rules added and deleted with the page's
CSRF token, refused with the reason (escaped), applied by the running server at once, and out of
reach of another site's login."""

from __future__ import annotations

import uuid

import httpx

from tests.serverproc import Site, clycyo
from tests.web.http_login import Clients, clients, settings_csrf, site_user

__all__ = ["clients"]  # the fixture

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


def _rules(client: httpx.Client, site: Site) -> list[dict[str, object]]:
    answer = client.get(f"/sites/{site.site}/settings.json")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["shields"])


def _pageview(site: Site, path: str) -> dict[str, object]:
    status, answer = site.post(
        "/api/collect",
        {"key": site.public_key, "type": "pageview", "url": f"https://{site.site}{path}"},
        headers={"Origin": f"https://{site.site}", "User-Agent": CHROME},
    )
    assert status == 200, answer
    return dict(answer)


def test_shields_are_added_applied_at_once_and_deleted_on_the_settings_page(
    server: Site, clients: Clients
) -> None:
    client = site_user(server, f"shields-{server.site}@example.com", clients)
    url = f"/sites/{server.site}/settings/shields"
    page = client.get(f"/sites/{server.site}/settings").text
    assert "<h2>Shields</h2>" in page and "data-add-shield" in page
    tag = uuid.uuid4().hex
    added = client.post(
        url, data={"csrf": settings_csrf(client, server.site), "kind": "page", "value": "/admin/**"}
    )
    assert added.status_code == 303
    # The server that answered the form judges its next event by the rule: no wait.
    assert _pageview(server, f"/admin/{tag}")["ignored"] == 1
    assert _pageview(server, f"/{tag}")["accepted"] == 1
    for kind, value in (("ip", "203.0.113.7/24"), ("country", "de")):
        answer = client.post(
            url, data={"csrf": settings_csrf(client, server.site), "kind": kind, "value": value}
        )
        assert answer.status_code == 303
    rules = _rules(client, server)
    assert [(r["kind"], r["value"]) for r in rules] == [
        ("page", "/admin/**"),
        ("ip", "203.0.113.0/24"),
        ("country", "DE"),
    ]
    page = client.get(f"/sites/{server.site}/settings").text
    assert "<code>203.0.113.0/24</code>" in page
    deleted = client.post(
        f"{url}/delete",
        data={"csrf": settings_csrf(client, server.site), "id": str(rules[0]["id"])},
    )
    assert deleted.status_code == 303
    assert _pageview(server, f"/admin/{tag}-again")["accepted"] == 1
    again = client.post(
        f"{url}/delete",
        data={"csrf": settings_csrf(client, server.site), "id": str(rules[0]["id"])},
    )
    assert again.status_code == 404
    assert len(_rules(client, server)) == 2


def test_a_rule_that_is_none_is_refused_with_the_reason_escaped(
    server: Site, clients: Clients
) -> None:
    client = site_user(server, f"shields-{server.site}@example.com", clients)
    url = f"/sites/{server.site}/settings/shields"
    for kind, value, reason in (
        ("ip", "<b>office</b>", "ip: &#39;&lt;b&gt;office&lt;/b&gt;&#39; is not an IP address"),
        ("country", "Germany", "country: &#39;Germany&#39; is not an ISO 3166-1 alpha-2 code"),
        ("page", "admin", "page: a page path starts with /"),
        ("hostname", "evil.example", f"hostname: evil.example is not a host of {server.site}"),
        ("<script>", "x", "no kind of rule &#39;&lt;script&gt;&#39;"),
    ):
        refused = client.post(
            url, data={"csrf": settings_csrf(client, server.site), "kind": kind, "value": value}
        )
        assert refused.status_code == 400
        assert f"Not added: {reason}" in refused.text, refused.text
        assert "<b>office" not in refused.text and "<script>" not in refused.text
    # A page pattern may hold markup: it is shown as text.
    markup = "/<script>alert(1)</script>"
    added = client.post(
        url, data={"csrf": settings_csrf(client, server.site), "kind": "page", "value": markup}
    )
    assert added.status_code == 303
    page = client.get(f"/sites/{server.site}/settings").text
    assert "<script>alert(1)" not in page
    assert "<code>/&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page


def test_the_shield_forms_need_the_csrf_token_and_a_site_of_ones_own(
    server: Site, clients: Clients
) -> None:
    client = site_user(server, f"shields-{server.site}@example.com", clients)
    other = server.server.add_site()
    url = f"/sites/{server.site}/settings/shields"
    forged = client.post(url, data={"kind": "country", "value": "DE"})
    assert forged.status_code == 403
    theirs = client.post(
        f"/sites/{other.site}/settings/shields",
        data={"csrf": settings_csrf(client, server.site), "kind": "country", "value": "DE"},
    )
    assert theirs.status_code in (403, 404)
    assert _rules(client, server) == []
    listed = clycyo("shield", "list", "--site", other.site, data=server.data_dir)
    assert listed.strip() == "no shields"
