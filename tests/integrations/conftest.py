"""A site with a Stripe signing secret on the shared server, and a way to deliver signed events."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import pytest
import stripe

from tests.serverproc import ServerProcess, Site, clycyo

_numbers = itertools.count(1)


@dataclass
class StripeSite:
    site: Site
    signing_secret: str

    def deliver(
        self,
        event: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        header: str | None = None,
    ) -> tuple[int, Any]:
        """POST the event as Stripe does: the raw JSON, signed by Stripe's own library."""
        payload = json.dumps(event)
        if header is None:
            header = stripe.WebhookSignature.generate_signature_header(
                payload, secret or self.signing_secret, timestamp=timestamp or int(time.time())
            )
        return self.site.server.request(
            "POST",
            f"/api/webhooks/stripe/{self.site.site}",
            payload.encode(),
            {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header},
        )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return self.site.events(name=name) if name else self.site.events()


@pytest.fixture
def stripe_site(shared_server: ServerProcess) -> StripeSite:
    domain = f"shop{next(_numbers)}-{os.getpid()}.localhost"
    signing_secret = "whsec_" + secrets.token_hex(16)
    created = json.loads(
        clycyo(
            "site",
            "add",
            domain,
            "--json",
            "--stripe-signing-secret",
            signing_secret,
            data=shared_server.data_dir,
        )
    )
    site = Site(shared_server, created["site"], created["public_key"], created["secret_key"])
    return StripeSite(site, signing_secret)
