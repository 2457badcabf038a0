"""What each credential reaches of a site it may read: a shared link sees the dashboard's
aggregates and never a person; an API token reads persons but does not erase them; only a login
reaches the settings. Dashboard views refuse with 404, API endpoints with 403."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from clycyo.config.funnels import FunnelStore, check_step
from tests.web.conftest import Dashboard

PERSON = "ann-7f3e"
VISITOR = "visitor-ann-0c1d"


@dataclass
class Filled:
    dashboard: Dashboard
    secret_key: str
    funnel_id: int

    @property
    def site(self) -> str:
        return self.dashboard.site

    def site_id(self) -> int:
        site = self.dashboard.runtime.config.site_by_domain(self.site)
        assert site is not None
        return site.id


@pytest.fixture
def filled(dashboard: Dashboard) -> Filled:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    secret = dashboard.runtime.config.add_secret_key(site.id)
    url = f"https://{dashboard.site}/"
    now_ms = int(time.time() * 1000)
    person = {"user_id": PERSON, "visitor_id": VISITOR}
    batch = [
        {**person, "type": "pageview", "url": url, "timestamp": now_ms - 60_000},
        {**person, "name": "signup", "props": {"plan": "team"}, "timestamp": now_ms - 30_000},
    ]
    answer = dashboard.client.post(
        "/api/collect", json={"batch": batch}, headers=bearer(secret)
    ).json()
    assert answer["accepted"] == 2, answer
    steps = [check_step("pageview", "/", []), check_step("event", "signup", [])]
    funnel = FunnelStore(dashboard.runtime.config).add(site.id, "Signup", steps)
    return Filled(dashboard, secret, funnel.id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def person_apis(site: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/api/v1/events?site={site}"),
        ("GET", f"/api/v1/persons/{PERSON}/timeline?site={site}"),
        ("GET", f"/api/v1/persons/{PERSON}/export?site={site}"),
        ("DELETE", f"/api/v1/persons/{PERSON}?site={site}"),
    ]


def person_views(prefix: str, funnel_id: int) -> list[str]:
    views = []
    for view in ("/people?q=ann", f"/people/{PERSON}", f"/funnels/{funnel_id}/steps/1"):
        path, _, query = view.partition("?")
        suffix = f"?{query}" if query else ""
        views += [f"{prefix}{path}.json{suffix}", f"{prefix}{path}{suffix}"]
    return [*views, f"{prefix}/settings.json", f"{prefix}/settings"]


def aggregate_views(prefix: str, funnel_id: int) -> list[str]:
    return [
        f"{prefix}.json",
        prefix,
        f"{prefix}/panels/pages.json",
        f"{prefix}/panels/goals",
        f"{prefix}/funnels.json",
        f"{prefix}/funnels/{funnel_id}.json",
        f"{prefix}/funnels/{funnel_id}",
        f"{prefix}/why.json",
        f"{prefix}/realtime.json",
        f"{prefix}/realtime",
    ]


def test_a_shared_link_sent_as_a_bearer_token_reads_no_person(filled: Filled) -> None:
    link, _ = filled.dashboard.access.add_shared_link(filled.site_id())
    client = filled.dashboard.new_client()
    for method, path in person_apis(filled.site):
        answer = client.request(method, path, headers=bearer(link))
        assert answer.status_code == 403, (path, answer.text)
        assert PERSON not in answer.text and VISITOR not in answer.text, path
    for path in person_views(f"/sites/{filled.site}", filled.funnel_id):
        answer = client.get(path, headers=bearer(link))
        assert answer.status_code == 404, (path, answer.status_code)
        assert PERSON not in answer.text and VISITOR not in answer.text, path
    events = client.get(person_apis(filled.site)[0][1], headers=bearer(link))
    assert events.json() == {"error": "authorization: a shared link cannot read persons"}
    for path in person_views(f"/share/{link}", filled.funnel_id):  # not even routed
        answer = client.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert PERSON not in answer.text, path


def test_a_shared_link_still_reads_the_dashboard(filled: Filled) -> None:
    link, _ = filled.dashboard.access.add_shared_link(filled.site_id())
    client = filled.dashboard.new_client()
    for path in aggregate_views(f"/share/{link}", filled.funnel_id):
        answer = client.get(path + "?period=7d")
        assert answer.status_code == 200, (path, answer.text[:300])
        assert PERSON not in answer.text, path
    for path in aggregate_views(f"/sites/{filled.site}", filled.funnel_id)[::2]:
        assert client.get(path, headers=bearer(link)).status_code == 200, path
    for funnel_url, headers in (
        (f"/share/{link}/funnels/{filled.funnel_id}.json?period=7d", {}),
        (f"/sites/{filled.site}/funnels/{filled.funnel_id}.json?period=7d", bearer(link)),
    ):
        funnel = client.get(funnel_url, headers=headers).json()
        assert [s["visitors"] for s in funnel["steps"]] == [1, 1]
        assert [s["persons"] for s in funnel["steps"]] == [None, None]  # no link to persons
    body = {"site": filled.site, "metrics": ["events"], "date_range": "7d"}
    query = client.post("/api/v1/query", json=body, headers=bearer(link))
    assert query.status_code == 200 and query.json()["results"][0]["metrics"] == [2]
    realtime = client.get(f"/api/v1/realtime?site={filled.site}", headers=bearer(link))
    assert realtime.status_code == 200


def test_an_api_token_reads_and_erases_persons_of_its_sites_only(filled: Filled) -> None:
    # The people endpoints take the query API's credentials (CONTRACT §6): a token may erase.
    token, _ = filled.dashboard.access.add_api_token([filled.site_id()])
    client = filled.dashboard.new_client()
    for method, path in person_apis(filled.site)[:3]:
        assert client.request(method, path, headers=bearer(token)).status_code == 200, path
    for path in person_views(f"/sites/{filled.site}", filled.funnel_id)[:6:2]:
        answer = client.get(path, headers=bearer(token))
        assert answer.status_code == 200 and PERSON in answer.text, path
    erase = f"/api/v1/persons/{PERSON}?site={filled.site}"
    timeline = f"/api/v1/persons/{PERSON}/timeline?site={filled.site}"
    assert client.get(timeline, headers=bearer(token)).status_code == 200  # nothing was erased
    erased = client.delete(erase, headers=bearer(token))
    assert erased.status_code == 200 and erased.json()["deleted"] == 2


def test_a_login_reads_persons_and_settings_but_does_not_erase(filled: Filled) -> None:
    client: TestClient = filled.dashboard.login(filled.dashboard.new_client())
    for path in person_views(f"/sites/{filled.site}", filled.funnel_id):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
    step = client.get(f"/sites/{filled.site}/funnels/{filled.funnel_id}/steps/1.json").json()
    assert [p["id"] for p in step["persons"]] == [PERSON]
    page = client.get(f"/sites/{filled.site}/settings").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    refused = client.delete(
        f"/api/v1/persons/{PERSON}?site={filled.site}", headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 403
