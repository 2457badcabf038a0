"""Parameters no report can answer are 400s and 404s, never 500s, and every error answer —
Starlette's own included — carries the security headers of the dashboard's pages."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from clycyo.web import error_pages
from tests.web.conftest import Dashboard

HUGE = "99999999999999999999999"
HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


def secured(response: object) -> bool:
    headers = response.headers  # type: ignore[attr-defined]
    return (
        all(h in headers for h in HEADERS)
        and headers["x-content-type-options"] == "nosniff"
        and headers["referrer-policy"] == "no-referrer"
    )


def test_days_beyond_what_the_query_layer_holds_are_a_400(dashboard: Dashboard) -> None:
    client = dashboard.login()
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    link, _ = dashboard.access.add_shared_link(site.id)
    for bad in ("from=2026-01-01&to=9999-12-31", "from=0001-01-01&to=0001-01-02"):
        query = f"?period=custom&{bad}"
        for path in (f"/sites/{dashboard.site}", f"/share/{link}"):
            page = client.get(path + query)
            assert page.status_code == 400, (path, bad, page.text[:200])
            assert secured(page)
            twin = client.get(path + ".json" + query)
            assert twin.status_code == 400, (path, bad)
            assert "between 1920-01-01 and 2299-12-30" in twin.json()["error"]
        panel = client.get(f"/sites/{dashboard.site}/panels/pages.json{query}")
        assert panel.status_code == 400
    ok = client.get(f"/sites/{dashboard.site}.json?period=custom&from=2299-01-01&to=2299-12-30")
    assert ok.status_code == 200


def test_ids_too_large_for_the_store_name_nothing(dashboard: Dashboard) -> None:
    client = dashboard.login()
    base = f"/sites/{dashboard.site}"
    for path in (f"/funnels/{HUGE}", f"/funnels/{HUGE}/steps/1"):
        for suffix in (".json", ""):
            answer = client.get(base + path + suffix)
            assert answer.status_code == 404, (path, suffix, answer.text[:200])
    page = client.get(f"{base}/settings").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    deleted = client.post(f"{base}/funnels/{HUGE}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    for form in ("links", "tokens"):
        revoked = client.post(f"{base}/settings/{form}/revoke", data={"csrf": csrf, "id": HUGE})
        assert revoked.status_code == 404, form


def test_starlettes_own_answers_carry_the_security_headers(dashboard: Dashboard) -> None:
    client = dashboard.client
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and secured(missing)
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404 and secured(api)
    assert api.json() == {"error": "Not Found"}
    wrong = client.put("/login")
    assert wrong.status_code == 405 and secured(wrong)
    assert "GET" in wrong.headers["allow"]


def test_an_unhandled_exception_is_a_bare_500_with_the_headers() -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("a detail that must not reach the client")

    app = Starlette(
        routes=[Route("/broken", broken), Route("/api/broken", broken)],
        exception_handlers=error_pages.HANDLERS,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/broken")
        assert page.status_code == 500 and secured(page)
        assert "detail" not in page.text
        api = client.get("/api/broken")
        assert api.status_code == 500 and api.json() == {"error": "Internal Server Error"}
