"""When the intake log cannot take events, Stripe (and the other clients) are told to retry,
and the retry counts once."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe

from clycyo import local_server
from tests.integrations import stripe_payloads as sp
from tests.serverproc import ServerProcess, clycyo


@pytest.fixture
def faulty_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", env={"CLYCYO_FAULT_INJECTION": "1"}).start()
    yield server
    server.kill()


def set_intake_fault(server: ServerProcess, reason: str | None) -> None:
    local = local_server.find(server.data_dir)
    assert local is not None
    status, _ = local.call("POST", "/api/admin/faults", {"intake": reason})
    assert status == 200


def test_503_with_retry_after_then_the_redelivery_counts_once(
    faulty_server: ServerProcess,
) -> None:
    signing_secret = "whsec_" + secrets.token_hex(8)
    site = json.loads(
        clycyo(
            "site",
            "add",
            "retry.localhost",
            "--json",
            "--stripe-signing-secret",
            signing_secret,
            data=faulty_server.data_dir,
        )
    )
    session = sp.checkout_session(payment_intent=sp.new_id("pi"), reference="user-1")
    payload = json.dumps(sp.event("checkout.session.completed", session))

    def deliver() -> tuple[int, dict[str, object]]:
        header = stripe.WebhookSignature.generate_signature_header(
            payload, signing_secret, timestamp=int(time.time())
        )
        status, body = faulty_server.request(
            "POST",
            "/api/webhooks/stripe/retry.localhost",
            payload.encode(),
            {"Stripe-Signature": header},
        )
        return status, body

    set_intake_fault(faulty_server, "disk full (simulated)")
    header = stripe.WebhookSignature.generate_signature_header(payload, signing_secret)
    answer = httpx.post(
        faulty_server.url + "/api/webhooks/stripe/retry.localhost",
        content=payload,
        headers={"Stripe-Signature": header},
    )
    assert answer.status_code == 503 and "retry later" in answer.json()["error"]
    assert int(answer.headers["retry-after"]) > 0
    segment = {"writeKey": site["secret_key"], "batch": [{"type": "track", "event": "x"}]}
    status, body = faulty_server.post("/v1/batch", segment)
    assert status == 503 and body["code"] == "unavailable"

    set_intake_fault(faulty_server, None)
    deadline = time.monotonic() + 10
    while (status := deliver()[0]) == 503 and time.monotonic() < deadline:
        time.sleep(0.2)  # the server clears the fault on its next maintenance tick
    assert status == 200
    assert deliver()[1]["duplicates"] == 2
    status, events = faulty_server.get(
        "/api/v1/events?site=retry.localhost&name=payment", bearer=site["secret_key"]
    )
    assert status == 200 and len(events["events"]) == 1
