"""A server whose store refuses an event it was handed keeps storing everything else, over HTTP
and across restarts (`store/refusals.py`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from clycyo.config.store import ConfigStore
from clycyo.model import Event
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from tests.serverproc import ServerProcess, Site

BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
}


def stored_names(site: Site) -> list[str]:
    return sorted(event["name"] for event in site.events(limit="1000"))


def healthy(server: ServerProcess) -> dict[str, Any]:
    status, body = server.get("/healthz")
    assert status == 200, body
    return dict(body)


def errors(data: Path) -> list[str]:
    return sorted(e.error for e in Quarantine(data / "quarantine.sqlite").entries(limit=100))


def test_an_amount_of_10_to_the_12_is_rejected_and_wedges_nothing(
    own_server: ServerProcess,
) -> None:
    server = own_server.start()
    site = server.add_site("refused.test")
    batch = [
        {"name": "before", "visitor_id": "v1", "url": "https://refused.test/"},
        {
            "name": "pay",
            "visitor_id": "v1",
            "revenue": {"amount": "-1000000000000", "currency": "EUR"},
        },
        {"name": "beside", "visitor_id": "v1", "url": "https://refused.test/"},
    ]
    status, answer = site.post(
        "/api/collect", {"key": site.public_key, "batch": batch}, headers=BROWSER
    )
    assert status == 200, answer
    assert answer["accepted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [1]
    assert answer["rejected"][0]["error"].startswith("revenue.amount: ")
    status, answer = site.post(
        "/api/collect",
        {"key": site.public_key, "name": "after", "visitor_id": "v1"},
        headers=BROWSER,
    )
    assert (status, answer["accepted"]) == (200, 1)
    assert stored_names(site) == ["after", "before", "beside"]
    assert errors(server.data_dir) == ["revenue.amount: 10^12 or more in absolute value"]
    metrics = server.request("GET", "/metrics")[1].decode().splitlines()
    # Rejected on arrival: quarantined, not refused by the store.
    assert "clycyo_quarantined_total 1" in metrics
    assert "clycyo_store_refused_total 0" in metrics
    server.stop()
    server.start()
    assert healthy(server)["writer_error"] is None
    assert site.post("/api/collect", {"name": "restarted"}, secret=True)[1]["accepted"] == 1
    assert stored_names(site) == ["after", "before", "beside", "restarted"]


def test_an_event_in_the_log_the_store_refuses_is_quarantined_and_the_rest_stored(
    own_server: ServerProcess,
) -> None:
    """The intake log holds an event the store cannot take (written bypassing validation, as a
    bug or an older version's looser rule would): the server starts, quarantines it with the
    store's error, stores the events around it and everything sent later, and a restart after
    that replays nothing."""
    server = own_server.start()
    site = server.add_site("poisoned.test")
    assert site.post("/api/collect", {"name": "first"}, secret=True)[1]["accepted"] == 1
    server.stop()

    created = ConfigStore(server.data_dir / "config.sqlite").site_by_domain("poisoned.test")
    assert created is not None
    now_us = time.time_ns() // 1000

    def event(name: str, **fields: Any) -> Event:
        return Event(
            site_id=created.id,
            event_id=f"{name}-id",
            time_us=now_us,
            received_us=now_us,
            origin="server",
            type="event",
            name=name,
            user_id="u1",
            **fields,
        )

    poisoned = event("pay", revenue_amount="1000000000000", revenue_currency="EUR", order_id="o1")
    log = IntakeLog(server.data_dir / "intake")
    log.append_sync([event("good-1"), poisoned, event("good-2")], [])
    log.append_sync([event("good-3")], [])
    log.close()

    server.start()
    assert site.post("/api/collect", {"name": "later"}, secret=True)[1]["accepted"] == 1
    assert stored_names(site) == ["first", "good-1", "good-2", "good-3", "later"]
    [refusal] = errors(server.data_dir)
    assert refusal.startswith("store refused the event: ConversionException: ")
    assert healthy(server)["writer_error"] is None
    metrics = server.request("GET", "/metrics")[1].decode()
    assert "clycyo_quarantined_total 1" in metrics.splitlines()
    assert "clycyo_store_refused_total 1" in metrics.splitlines()
    logged = server.log_path.read_text()
    assert "the store refused 1 event(s) of intake log local (ConversionException)" in logged
    assert "1000000000000" not in logged  # the store's words quote the value: not logged

    server.stop()
    server.start()
    assert healthy(server)["writer_error"] is None
    assert site.post("/api/collect", {"name": "again"}, secret=True)[1]["accepted"] == 1
    assert stored_names(site) == ["again", "first", "good-1", "good-2", "good-3", "later"]
    assert len(errors(server.data_dir)) == 1
