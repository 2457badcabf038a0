"""Who may read what: API tokens, shared links, the session cookie, CSRF and the login form."""

from __future__ import annotations

from urllib.parse import quote

from tests.web.conftest import PASSWORD, Dashboard

EVENTS = "/api/v1/events?site={}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def site_id(dashboard: Dashboard, domain: str) -> int:
    site = dashboard.runtime.config.site_by_domain(domain)
    assert site is not None
    return site.id


def test_an_api_token_reads_its_sites_only_until_revoked(dashboard: Dashboard) -> None:
    token, record = dashboard.access.add_api_token([site_id(dashboard, dashboard.site)], "ci")
    client = dashboard.client
    assert token.startswith("ct_")
    assert client.get(EVENTS.format(dashboard.site), headers=bearer(token)).status_code == 200
    other = client.get(EVENTS.format(dashboard.other), headers=bearer(token))
    assert other.status_code == 403
    assert dashboard.access.revoke_api_token(record.id)
    gone = client.get(EVENTS.format(dashboard.site), headers=bearer(token))
    assert gone.status_code == 401
    assert "revoked" in gone.json()["error"]


def test_tokens_are_stored_hashed(dashboard: Dashboard) -> None:
    token, _ = dashboard.access.add_api_token([site_id(dashboard, dashboard.site)])
    link, _ = dashboard.access.add_shared_link(site_id(dashboard, dashboard.site))
    raw = dashboard.runtime.config.path.read_bytes()
    assert token.encode() not in raw
    assert link.encode() not in raw


def test_a_shared_link_token_only_reads(dashboard: Dashboard) -> None:
    link, _ = dashboard.access.add_shared_link(site_id(dashboard, dashboard.site))
    client = dashboard.client
    realtime = "/api/v1/realtime?site={}"
    assert client.get(realtime.format(dashboard.site), headers=bearer(link)).status_code == 200
    assert client.get(realtime.format(dashboard.other), headers=bearer(link)).status_code == 403
    # A write endpoint refuses it (the admin replay is one; any non-query POST is).
    refused = client.post("/api/admin/faults", headers=bearer(link))
    assert refused.status_code in (401, 403)


def test_anonymous_requests_get_nothing(dashboard: Dashboard) -> None:
    client = dashboard.client
    assert client.get(EVENTS.format(dashboard.site)).status_code == 401
    for path in (".json", "/funnels.json", "/panels/pages.json", "/realtime.json", "/why.json"):
        response = client.get(f"/sites/{dashboard.site}{path}")
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("application/json")
    page = client.get(f"/sites/{dashboard.site}")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    assert client.get("/sites.json").status_code == 401
    assert client.get("/share/sh_not-a-real-link.json").status_code == 404


def test_login_sets_a_hardened_cookie_and_reads_own_sites_only(dashboard: Dashboard) -> None:
    client = dashboard.login()
    cookie = next(c for c in client.cookies.jar if c.name == "clycyo_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    assert client.get(EVENTS.format(dashboard.site)).status_code == 200
    assert client.get(EVENTS.format(dashboard.other)).status_code == 403
    assert client.get("/sites.json").json() == {
        "sites": [{"site": dashboard.site, "url": f"/sites/{dashboard.site}"}]
    }
    assert client.get(f"/sites/{dashboard.other}/funnels.json").status_code == 404


def test_a_cross_site_request_does_not_ride_the_session(dashboard: Dashboard) -> None:
    client = dashboard.login()
    response = client.get(EVENTS.format(dashboard.site), headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 401
    evil = client.get(EVENTS.format(dashboard.site), headers={"Origin": "https://evil.example"})
    assert evil.status_code == 401
    same = client.get(EVENTS.format(dashboard.site), headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200


def test_state_changing_posts_need_the_csrf_token(dashboard: Dashboard) -> None:
    client = dashboard.login()
    url = f"/sites/{dashboard.site}/settings/links"
    refused = client.post(url, data={"label": "x"})
    assert refused.status_code == 403
    assert dashboard.access.shared_links(site_id(dashboard, dashboard.site)) == []
    settings = client.get(f"/sites/{dashboard.site}/settings").text
    csrf = settings.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    made = client.post(url, data={"label": "board", "csrf": csrf})
    assert made.status_code == 200
    assert "/share/sh_" in made.text
    assert len(dashboard.access.shared_links(site_id(dashboard, dashboard.site))) == 1


def test_login_refuses_wrong_passwords_forged_forms_and_guessing(dashboard: Dashboard) -> None:
    client = dashboard.new_client()
    dashboard.login(client, password="wrong password")
    assert client.get("/sites.json").status_code == 401
    forged = client.post("/login", data={"email": dashboard.email, "password": "x" * 10})
    assert forged.status_code == 403
    for _ in range(10):
        dashboard.login(client, password="still wrong")
    dashboard.login(client)  # the right password, but the account's delay is not over
    assert client.get("/sites.json").status_code == 401


def test_logout_ends_the_session_on_the_server(dashboard: Dashboard) -> None:
    client = dashboard.login()
    cookie = client.cookies["clycyo_session"]
    page = client.get(f"/sites/{dashboard.site}/funnels").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    replay = dashboard.new_client()
    replay.cookies.set("clycyo_session", cookie)
    assert replay.get("/sites.json").status_code == 401


def test_login_redirects_only_to_local_paths(dashboard: Dashboard) -> None:
    client = dashboard.new_client()
    page = client.get("/login?next=https://evil.example/")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={
            "csrf": csrf,
            "email": dashboard.email,
            "password": "correct horse battery",
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/sites"


def test_dashboard_pages_carry_a_strict_content_security_policy(dashboard: Dashboard) -> None:
    for path in ("/login", f"/sites/{dashboard.site}/funnels"):
        client = dashboard.login() if path != "/login" else dashboard.client
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_a_shared_link_opens_the_dashboard_until_revoked(dashboard: Dashboard) -> None:
    link, record = dashboard.access.add_shared_link(site_id(dashboard, dashboard.site))
    client = dashboard.new_client()
    listing = client.get(f"/share/{link}/funnels.json")
    assert listing.status_code == 200
    assert client.get(f"/share/{link}/people.json").status_code == 404  # persons stay private
    assert client.get(f"/share/{link}/settings").status_code == 404
    dashboard.access.revoke_shared_link(record.id)
    assert client.get(f"/share/{link}/funnels.json").status_code == 404


def test_an_api_token_reads_the_json_twins_but_not_settings(dashboard: Dashboard) -> None:
    token, _ = dashboard.access.add_api_token([site_id(dashboard, dashboard.site)])
    client = dashboard.new_client()
    listing = client.get(f"/sites/{dashboard.site}/funnels.json", headers=bearer(token))
    assert listing.status_code == 200
    assert listing.json()["funnels"] == []
    overview = client.get(f"/sites/{dashboard.site}.json?period=7d", headers=bearer(token))
    assert overview.status_code == 200
    assert [c["metric"] for c in overview.json()["cards"]][:3] == [
        "visitors",
        "visits",
        "pageviews",
    ]
    refused = client.get(f"/sites/{dashboard.site}/settings.json", headers=bearer(token))
    assert refused.status_code == 404
    other = client.get(f"/sites/{dashboard.other}/funnels.json", headers=bearer(token))
    assert other.status_code == 404


def test_a_form_posted_after_the_session_ended_leads_back_to_its_page(
    dashboard: Dashboard,
) -> None:
    base = f"/sites/{dashboard.site}"
    forms = {
        "/settings/links": "/settings",
        "/settings/links/revoke": "/settings",
        "/settings/tokens": "/settings",
        "/settings/tokens/revoke": "/settings",
        "/settings/reporting": "/settings",
        "/funnels": "/funnels",
        "/funnels/7/delete": "/funnels/7",
    }
    for form, page in forms.items():
        expired = dashboard.new_client()
        expired.cookies.set("clycyo_session", "ended-long-ago")
        answer = expired.post(base + form, data={"csrf": "x", "id": "1", "label": "x"})
        assert answer.status_code == 303, form
        location = answer.headers["location"]
        assert location == "/login?next=" + quote(base + page, safe=""), form
        login = expired.get(location)
        csrf, next_path = (
            login.text.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]
            for name in ("csrf", "next")
        )
        form_fields = {"csrf": csrf, "email": dashboard.email, "password": PASSWORD}
        landed = expired.post("/login", data={**form_fields, "next": next_path})
        assert landed.headers["location"] == base + page, form
        assert expired.get(base + page).status_code in (200, 404), form  # 404: no funnel 7
