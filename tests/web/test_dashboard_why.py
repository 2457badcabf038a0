"""The why report's average paid order under the view's filters: the payments of the attempts
the filters keep, not every payment of the period."""

from __future__ import annotations

import time
from urllib.parse import quote

from clycyo.config.funnels import FunnelStore, check_step
from tests.web.conftest import CHROME, Dashboard


def test_the_average_paid_order_honours_the_view_filters(dashboard: Dashboard) -> None:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000) - 600_000
    url = f"https://{dashboard.site}"
    context = {"user_agent": CHROME}

    def attempt(who: str, entry: str, amount: str | None, at: int) -> list[dict[str, object]]:
        pages = [entry, "/checkout"] if entry != "/checkout" else ["/checkout"]
        events: list[dict[str, object]] = [
            {
                "type": "pageview",
                "origin": "browser",
                "visitor_id": who,
                "user_id": f"user-{who}",
                "url": url + page,
                "timestamp": at + i * 1000,
                "context": context,
            }
            for i, page in enumerate(pages)
        ]
        if amount is not None:
            events.append(
                {
                    "name": "payment",
                    "user_id": f"user-{who}",
                    "order_id": f"order-{who}",
                    "revenue": {"amount": amount, "currency": "USD"},
                    "timestamp": at + 10_000,
                }
            )
        return events

    batch = [
        *attempt("p", "/pricing", "100.00", now_ms),
        *attempt("q", "/checkout", "10.00", now_ms + 60_000),
        *attempt("t", "/pricing", None, now_ms + 120_000),
        # A payment no attempt led to.
        {
            "name": "payment",
            "user_id": "user-r",
            "order_id": "order-r",
            "revenue": {"amount": "1000.00", "currency": "USD"},
            "timestamp": now_ms + 180_000,
        },
    ]
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == len(batch)
    steps = [check_step("pageview", "/checkout", []), check_step("event", "payment", [])]
    funnel = FunnelStore(dashboard.runtime.config).add(site.id, "Checkout", steps)
    client = dashboard.login()
    view = f"/sites/{dashboard.site}/why.json?period=7d&funnel={funnel.id}"

    every = client.get(view).json()["report"]
    assert (every["attempts"], every["paid"], every["average_order"]) == (3, 2, 55.0)
    assert every["by_kind"] == []
    entry = quote("is,visit:entry_page,/pricing")
    pricing = client.get(f"{view}&f={entry}").json()["report"]
    assert (pricing["attempts"], pricing["paid"], pricing["average_order"]) == (2, 1, 100.0)
