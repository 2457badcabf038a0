"""What the collect API answers and the store keeps for events that arrive after an erasure
(`docs/privacy.md`): an erasure deletes what is held, it does not stop collection."""

from __future__ import annotations

from typing import Any

from tests.serverproc import Site

MONEY = {"amount": "20.00", "currency": "EUR"}


def _collect(site: Site, event: dict[str, Any]) -> tuple[int, int]:
    status, answer = site.post("/api/collect", event, secret=True)
    assert status == 200, answer
    return answer["accepted"], answer["duplicates"]


def test_after_an_erasure_a_retry_is_a_duplicate_and_a_new_copy_of_an_order_is_stored(
    server: Site,
) -> None:
    payment = {"name": "payment", "user_id": "u1", "order_id": "in_1", "revenue": MONEY}
    assert _collect(server, {**payment, "event_id": "p1", "props": {"plan": "pro"}}) == (1, 0)
    assert [e["event_id"] for e in server.events()] == ["p1"]
    status, answer = server.server.request(
        "DELETE",
        f"/api/v1/persons/u1?site={server.site}",
        headers={"Authorization": f"Bearer {server.secret_key}"},
    )
    assert (status, answer["deleted"]) == (200, 1), answer

    # The same delivery again, soon after: a duplicate of an id still remembered, not stored.
    assert _collect(server, {**payment, "event_id": "p1", "props": {"plan": "pro"}}) == (0, 1)
    assert server.events() == []
    # Another copy of the erased order: the order's only copy now, accepted and stored.
    later = {**payment, "event_id": "p2", "props": {"billing_reason": "x"}}
    assert _collect(server, later) == (1, 0)
    stored = [(e["event_id"], e["props"]) for e in server.events()]
    assert stored == [("p2", {"billing_reason": "x"})]
