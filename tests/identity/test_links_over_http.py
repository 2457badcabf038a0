"""Identity links over HTTP: a browser copy of an order that the server's copy supersedes in the
same request still links its visitor to the user (`docs/identity.md`)."""

from __future__ import annotations

from tests.serverproc import Site


def test_a_superseded_browser_payment_in_the_same_batch_links_its_visitor(server: Site) -> None:
    site = server
    url = f"https://{site.site}/?utm_source=tw"
    batch = [
        {"type": "pageview", "origin": "browser", "visitor_id": "vH", "url": url},
        {
            "name": "payment",
            "origin": "browser",
            "visitor_id": "vH",
            "user_id": "u5",
            "order_id": "o5",
            "revenue": {"amount": "10", "currency": "USD"},
        },
        {
            "name": "payment",
            "user_id": "u5",
            "order_id": "o5",
            "revenue": {"amount": "9", "currency": "USD"},
        },
    ]
    status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
    assert (status, answer["accepted"], answer["rejected"]) == (200, 3, [])
    status, timeline = site.server.get(
        f"/api/v1/persons/u5/timeline?site={site.site}", bearer=site.secret_key
    )
    assert status == 200, timeline
    assert timeline["person"] == {"user_id": "u5", "visitor_ids": ["vH"]}
    assert [(e["name"], e["origin"]) for e in timeline["events"]] == [
        ("pageview", "browser"),
        ("payment", "server"),
    ]
    query = {
        "site": site.site,
        "metrics": ["revenue", "orders"],
        "dimensions": ["first_touch:utm_source"],
        "date_range": "7d",
    }
    status, answer = site.post("/api/v1/query", query, secret=True)
    assert status == 200, answer
    assert [(r["dimensions"], r["metrics"]) for r in answer["results"]] == [(["tw"], [9.0, 1])]
