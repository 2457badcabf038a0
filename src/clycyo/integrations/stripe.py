"""`POST /api/webhooks/stripe/{DOMAIN}`: Stripe's webhook deliveries for one site (CONTRACT §7).

The raw body is verified against the site's signing secret before anything is read from it; a
missing or bad signature is a 400 with a JSON error (Stripe shows it in the dashboard). A verified
event is translated (`stripe_events.py`), the person links it teaches are stored, and the events
go through the pipeline as trusted server events. The answer is 200 only once they are durable;
503 with `Retry-After` when the intake log cannot take them, so Stripe delivers again later (and
the event ids make the retry count once). Event types Clycyo does not use get 200 `{"ignored"}`.
This module is the HTTP boundary only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from clycyo.collect import http
from clycyo.collect.formats.shape import checked
from clycyo.collect.ingest import Ingest, Invalid
from clycyo.collect.wire import JSON_ERRORS, EventIn
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site
from clycyo.integrations.stripe_events import StripeTranslator, Translation
from clycyo.integrations.stripe_links import StripeLinks
from clycyo.integrations.stripe_objects import StripeEvent
from clycyo.integrations.stripe_signature import SignatureError, verify
from clycyo.store.intake import IntakeUnavailable

PATH_PREFIX = "/api/webhooks/stripe/"


def signing_secrets(site: Site) -> list[str]:
    """The site's signing secrets: one, or several separated by commas while one is replaced."""
    value = site.stripe_signing_secret or ""
    return [secret.strip() for secret in value.split(",") if secret.strip()]


class StripeWebhook:
    def __init__(self, ingest: Ingest, directory: SiteDirectory, links: StripeLinks) -> None:
        self.ingest = ingest
        self.directory = directory
        self.translator = StripeTranslator(links)

    async def __call__(self, scope: http.Scope, receive: Any, send: Any) -> None:
        if scope["method"] != "POST":
            await http.send_json(send, 405, {"error": "use POST"}, [(b"allow", b"POST")])
            return
        domain = scope["path"][len(PATH_PREFIX) :].strip("/").lower()
        site = self.directory.by_domain(domain) if domain and "/" not in domain else None
        if site is None:
            await http.send_json(send, 404, {"error": f"no site {domain!r}"})
            return
        secrets = signing_secrets(site)
        if not secrets:
            message = f"site {site.domain} has no Stripe signing secret (--stripe-signing-secret)"
            await http.send_json(send, 400, {"error": message})
            return
        if self.ingest.saturated():
            retry = [(b"retry-after", b"1")]
            await http.send_json(send, 429, {"error": "too many requests in flight"}, retry)
            return
        headers = http.headers_dict(scope)
        try:
            body = await http.read_body(scope, receive, headers)
        except http.BodyError as exc:
            await http.send_json(send, exc.status, {"error": exc.message})
            return
        signature = headers.get(b"stripe-signature")
        try:
            verify(
                body,
                None if signature is None else signature.decode("latin-1"),
                secrets,
                now_s=time.time(),
            )
            event = msgspec.json.decode(body, type=StripeEvent)
        except SignatureError as exc:
            await http.send_json(send, 400, {"error": str(exc)})
            return
        except JSON_ERRORS as exc:
            await http.send_json(send, 400, {"error": f"not a Stripe event: {exc}"})
            return
        try:
            # The person links are written to SQLite: keep that off the event loop.
            translation = await asyncio.to_thread(self.translator.translate, event, site.id)
        except JSON_ERRORS as exc:
            await http.send_json(send, 400, {"error": f"{event.type}: unexpected object: {exc}"})
            return
        if translation is None:
            await http.send_json(send, 200, {"ignored": event.type, "event": event.id})
            return
        await self._ingest(send, site, event, translation)

    async def _ingest(
        self, send: Any, site: Site, event: StripeEvent, translation: Translation
    ) -> None:
        items: list[EventIn | Invalid] = [checked(e) for e in translation.events]
        try:
            outcome = await self.ingest.ingest(site, True, items, ip=None, user_agent=None)
        except IntakeUnavailable as exc:
            await http.send_json(
                send,
                503,
                {"error": f"not accepted, retry later: {exc.reason}"},
                [(b"retry-after", str(exc.retry_after_s).encode())],
            )
            return
        body: dict[str, object] = {**outcome.body(), "event": event.id, "type": event.type}
        if translation.ignored is not None:
            body["ignored"] = translation.ignored
        await http.send_json(send, 200, body)
