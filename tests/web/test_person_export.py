"""`GET /api/v1/persons/{id}/export`: everything about one person, and only for the site's own."""

from __future__ import annotations

from clycyo.config.access import AccessStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def test_export_holds_the_persons_events_identities_and_quarantine(
    shared_server: ServerProcess,
) -> None:
    site = shared_server.add_site()
    batch = [
        {
            "type": "pageview",
            "visitor_id": "dev-1",
            "url": f"https://{site.site}/",
            "event_id": "p1",
        },
        {"type": "identify", "visitor_id": "dev-1", "user_id": "ann", "traits": {"plan": "team"}},
        {
            "name": "invoice.paid",
            "user_id": "ann",
            "event_id": "pay-1",
            "revenue": {"amount": "49", "currency": "EUR"},
            "order_id": "in_1",
        },
        {"name": "unrelated", "user_id": "bob", "event_id": "bob-1"},
        {"name": 7, "user_id": "ann"},  # rejected: kept in the quarantine
    ]
    status, body = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and body["accepted"] == 4
    visit = {"key": site.public_key, "type": "pageview", "visitor_id": "dev-1", "event_id": "p2"}
    status, body = site.post(
        "/api/collect",
        {**visit, "url": f"https://{site.site}/pricing"},
        headers={"Origin": f"https://{site.site}", "User-Agent": CHROME},
    )
    assert status == 200 and body["accepted"] == 1

    status, document = shared_server.get(
        f"/api/v1/persons/ann/export?site={site.site}", bearer=site.secret_key
    )
    assert status == 200, document
    assert document["person"] == {"user_id": "ann", "visitor_ids": ["dev-1"]}
    ids = {e["event_id"] for e in document["events"]}
    assert {"p1", "pay-1"} <= ids and "bob-1" not in ids
    assert {(i["visitor_id"], i["user_id"]) for i in document["identities"]} == {("dev-1", "ann")}
    assert len(document["quarantined"]) == 1 and "ann" in document["quarantined"][0]["payload"]

    # 64-bit ids are text, as in the timeline: JavaScript would round them as JSON numbers.
    visit_ids = [e["visit_id"] for e in document["events"] if e["visit_id"] is not None]
    assert visit_ids and all(isinstance(v, str) and v == str(int(v)) for v in visit_ids)
    status, timeline = shared_server.get(
        f"/api/v1/persons/ann/timeline?site={site.site}", bearer=site.secret_key
    )
    assert status == 200, timeline
    shown = {e["event_id"]: e["visit_id"] for e in timeline["events"] if "visit_id" in e}
    exported = {e["event_id"]: e["visit_id"] for e in document["events"]}
    assert "p2" in shown
    assert all(exported[event_id] == visit_id for event_id, visit_id in shown.items())

    # By a visitor id, the same person.
    status, again = shared_server.get(
        f"/api/v1/persons/dev-1/export?site={site.site}", bearer=site.secret_key
    )
    assert status == 200 and again["person"]["user_id"] == "ann"
    assert (
        shared_server.get(
            f"/api/v1/persons/nobody/export?site={site.site}", bearer=site.secret_key
        )[0]
        == 404
    )


def test_export_is_refused_to_other_sites_and_shared_links(shared_server: ServerProcess) -> None:
    site, other = shared_server.add_site(), shared_server.add_site()
    site.post("/api/collect", {"name": "x", "user_id": "carl"}, secret=True)
    path = f"/api/v1/persons/carl/export?site={site.site}"
    assert shared_server.get(path, bearer=other.secret_key)[0] == 403
    assert shared_server.get(path, bearer=site.public_key)[0] == 401
    config = ConfigStore(shared_server.data_dir / "config.sqlite")
    found = config.site_by_domain(site.site)
    assert found is not None
    link, _ = AccessStore(config).add_shared_link(found.id)
    assert shared_server.get(path, bearer=link)[0] == 403
