"""The settings page's reporting form: the currency and time zone every report uses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

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
