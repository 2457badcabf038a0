"""The settings page's reporting form: the currency and time zone every report uses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from clycyo.config.goals import PageGoalStore
from tests.web.conftest import Dashboard


def _csrf(client: TestClient, domain: str) -> str:
    page = client.get(f"/sites/{domain}/settings").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _stored(dashboard: Dashboard) -> tuple[str, str]:
    site = next(s for s in dashboard.runtime.config.sites() if s.domain == dashboard.site)
    return site.currency, site.timezone


def test_the_reporting_currency_and_time_zone_change_from_the_settings_page(
    dashboard: Dashboard,
) -> None:
    client = dashboard.login()
    url = f"/sites/{dashboard.site}/settings/reporting"
    page = client.get(f"/sites/{dashboard.site}/settings").text
    assert 'name="currency" value="USD"' in page
    assert '<option value="Europe/Berlin">' in page  # suggestions for the zone
    saved = client.post(
        url,
        data={"csrf": _csrf(client, dashboard.site), "currency": "eur", "timezone": "Asia/Tokyo"},
    )
    assert saved.status_code == 303
    assert _stored(dashboard) == ("EUR", "Asia/Tokyo")
    shown = client.get(f"/sites/{dashboard.site}/settings.json").json()
    assert (shown["currency"], shown["timezone"]) == ("EUR", "Asia/Tokyo")
    # Reports use it from the next request on.
    overview = client.get(f"/sites/{dashboard.site}.json").json()
    assert overview["currency"] == "EUR"
    assert overview["period"]["to"] == dt.datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()


def test_a_value_that_is_no_setting_is_refused_with_the_reason_and_nothing_changes(
    dashboard: Dashboard,
) -> None:
    client = dashboard.login()
    url = f"/sites/{dashboard.site}/settings/reporting"
    wrong_zone = client.post(
        url,
        data={
            "csrf": _csrf(client, dashboard.site),
            "currency": "EUR",
            "timezone": "europe/berlin",
        },
    )
    assert wrong_zone.status_code == 400
    assert "did you mean Europe/Berlin?" in wrong_zone.text
    wrong_currency = client.post(
        url,
        data={"csrf": _csrf(client, dashboard.site), "currency": "<b>€</b>", "timezone": "UTC"},
    )
    assert wrong_currency.status_code == 400
    assert "currency: &#39;&lt;b&gt;€&lt;/b&gt;&#39; is not a currency code" in wrong_currency.text
    assert _stored(dashboard) == ("USD", "UTC")


def test_the_reporting_form_needs_the_csrf_token_and_a_site_of_ones_own(
    dashboard: Dashboard,
) -> None:
    client = dashboard.login()
    forged = client.post(
        f"/sites/{dashboard.site}/settings/reporting", data={"currency": "EUR", "timezone": "UTC"}
    )
    assert forged.status_code == 403
    theirs = client.post(
        f"/sites/{dashboard.other}/settings/reporting",
        data={"csrf": _csrf(client, dashboard.site), "currency": "EUR", "timezone": "UTC"},
    )
    assert theirs.status_code in (403, 404)
    assert _stored(dashboard) == ("USD", "UTC")
    other = next(s for s in dashboard.runtime.config.sites() if s.domain == dashboard.other)
    assert other.currency == "USD"


def _goals(client: TestClient, domain: str) -> list[str]:
    return [g["name"] for g in client.get(f"/sites/{domain}/settings.json").json()["page_goals"]]


def test_page_goals_are_added_and_deleted_on_the_settings_page(dashboard: Dashboard) -> None:
    client = dashboard.login()
    url = f"/sites/{dashboard.site}/settings/goals"
    for pattern in ("/thank-you", " /blog/** "):
        added = client.post(url, data={"csrf": _csrf(client, dashboard.site), "pattern": pattern})
        assert added.status_code == 303
    assert _goals(client, dashboard.site) == ["Visit /thank-you", "Visit /blog/**"]
    page = client.get(f"/sites/{dashboard.site}/settings").text
    assert "<code>Visit /blog/**</code>" in page
    # The query layer knows the new goal at once.
    key = {"Authorization": f"Bearer {dashboard.secret_key()}"}
    body = {"site": dashboard.site, "metrics": ["visitors"], "date_range": "7d"}
    goal = {**body, "filters": [["is", "event:goal", ["Visit /blog/**"]]]}
    assert client.post("/api/v1/query", json=goal, headers=key).status_code == 200
    first = client.get(f"/sites/{dashboard.site}/settings.json").json()["page_goals"][1]
    deleted = client.post(
        f"{url}/delete", data={"csrf": _csrf(client, dashboard.site), "id": str(first["id"])}
    )
    assert deleted.status_code == 303
    assert _goals(client, dashboard.site) == ["Visit /thank-you"]
    refused = client.post("/api/v1/query", json=goal, headers=key)
    assert refused.status_code == 400
    assert "filters[0][2][0]: event:goal: the site has no goal" in refused.json()["error"]
    again = client.post(
        f"{url}/delete", data={"csrf": _csrf(client, dashboard.site), "id": str(first["id"])}
    )
    assert again.status_code == 404


def test_a_pattern_that_is_no_page_goal_is_refused_with_the_reason_escaped(
    dashboard: Dashboard,
) -> None:
    client = dashboard.login()
    url = f"/sites/{dashboard.site}/settings/goals"
    for pattern, reason in (
        ("thank-you", "a page path starts with /"),
        ("/a b", "a page path has no spaces"),
        ("/blog/***", "* is any characters but /"),
    ):
        refused = client.post(url, data={"csrf": _csrf(client, dashboard.site), "pattern": pattern})
        assert refused.status_code == 400
        assert f"Not added: pattern: {reason}" in refused.text
    # Markup is no page path's business, but a pattern may hold it: it is shown as text.
    markup = "/<script>alert(1)</script>"
    added = client.post(url, data={"csrf": _csrf(client, dashboard.site), "pattern": markup})
    assert added.status_code == 303
    page = client.get(f"/sites/{dashboard.site}/settings").text
    assert "<script>alert(1)" not in page
    assert "<code>Visit /&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page
    assert _goals(client, dashboard.site) == [f"Visit {markup}"]


def test_the_goal_forms_need_the_csrf_token_and_a_site_of_ones_own(dashboard: Dashboard) -> None:
    client = dashboard.login()
    forged = client.post(f"/sites/{dashboard.site}/settings/goals", data={"pattern": "/x"})
    assert forged.status_code == 403
    theirs = client.post(
        f"/sites/{dashboard.other}/settings/goals",
        data={"csrf": _csrf(client, dashboard.site), "pattern": "/x"},
    )
    assert theirs.status_code in (403, 404)
    other = dashboard.runtime.config.site_by_domain(dashboard.other)
    assert other is not None
    goal = PageGoalStore(dashboard.runtime.config).add(other.id, "/theirs")
    not_mine = client.post(
        f"/sites/{dashboard.site}/settings/goals/delete",
        data={"csrf": _csrf(client, dashboard.site), "id": str(goal.id)},
    )
    assert not_mine.status_code == 404
    assert _goals(client, dashboard.site) == []
    assert PageGoalStore(dashboard.runtime.config).patterns(other.id) == {"/theirs"}
