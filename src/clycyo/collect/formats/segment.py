"""Segment's and RudderStack's HTTP tracking API: `POST /v1/batch`, `/v1/track`, `/v1/identify`,
`/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias` (CONTRACT §3).

The write key is the site's secret key, sent as the HTTP Basic user (password empty), as a
Bearer token or as `writeKey` in the body. Each message becomes one Clycyo event; the mapping is
documented in `docs/migrating.md`. This module only translates: it decides nothing about an
event's validity beyond what the translation needs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import msgspec

from clycyo.collect import limits
from clycyo.collect.formats.endpoint import Delivery, FormatError, Request
from clycyo.collect.formats.shape import (
    bounded_traits,
    checked,
    flat_props,
    instant,
    mapping,
    text,
)
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import JSON_ERRORS, EventIn
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site

PATHS = (
    "/v1/batch",
    "/v1/track",
    "/v1/identify",
    "/v1/page",
    "/v1/screen",
    "/v1/group",
    "/v1/alias",
)
# Libraries that run in the end user's browser: their events are behaviour, not server truth.
BROWSER_LIBRARIES = frozenset({"analytics.js", "analytics-next", "RudderLabs JavaScript SDK"})
# E-commerce spec events that carry an order's revenue before (or without) its payment.
_BEFORE_PAYMENT = frozenset({"Checkout Started", "Checkout Step Completed", "Order Updated"})
_CAMPAIGN_TAGS = {
    "source": "utm_source",
    "medium": "utm_medium",
    "name": "utm_campaign",
    "term": "utm_term",
    "content": "utm_content",
}


def write_key(request: Request, body: Mapping[str, Any]) -> str | None:
    authorization = request.headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    return text(body.get("writeKey"))


def _with_campaign(
    url: str | None, campaign: Mapping[str, Any], props: dict[str, Any]
) -> str | None:
    """UTM tags from `context.campaign` join the page URL (the pipeline reads them there), or
    the props when there is no page."""
    tags = {tag: text(campaign.get(key)) for key, tag in _CAMPAIGN_TAGS.items()}
    tags = {tag: value for tag, value in tags.items() if value and (url is None or tag not in url)}
    if not tags:
        return url
    if url is None:
        props.update(tags)
        return None
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode(tags)}{hash_mark}{fragment}"


def _money(name: str | None, properties: Mapping[str, Any]) -> str | int | float | None:
    """The amount a `track` call earned: Segment's `revenue` property on any event, `total` on
    "Order Completed", and the negated `total` of "Order Refunded". Events of the e-commerce spec
    that describe an order before it is paid carry `revenue` too, and are not money."""
    if name in _BEFORE_PAYMENT:
        return None
    amount = properties.get("revenue")
    if name in ("Order Completed", "Order Refunded"):
        amount = properties.get("total", amount)
    if not isinstance(amount, str | int | float) or isinstance(amount, bool):
        return None
    if name == "Order Refunded":
        try:
            return format(-abs(Decimal(str(amount))), "f")
        except InvalidOperation:
            return amount  # rejected by validation, with the field named
    return amount


def _screen(context: Mapping[str, Any]) -> str | None:
    screen = mapping(context.get("screen"))
    width, height = text(screen.get("width")), text(screen.get("height"))
    return f"{width}x{height}" if width and height else None


def translate(
    message: Mapping[str, Any], kind: str, request: Request, site: Site
) -> dict[str, Any]:
    """One Segment message in Clycyo's wire shape (not yet checked)."""
    context = mapping(message.get("context"))
    page = mapping(context.get("page"))
    properties = mapping(message.get("properties"))
    browser = text(mapping(context.get("library")).get("name")) in BROWSER_LIBRARIES
    props = flat_props(properties)
    event: dict[str, Any] = {
        "type": "event",
        "event_id": text(message.get("messageId")),
        "visitor_id": text(message.get("anonymousId")),
        "user_id": text(message.get("userId")),
        "timestamp": message.get("originalTimestamp") or message.get("timestamp"),
        "sent_at": message.get("sentAt"),
        "referrer": text(page.get("referrer")) or None,
        "title": text(page.get("title")),
        "origin": "browser" if browser else "server",
    }
    url = text(page.get("url"))
    if kind == "track":
        event["name"] = text(message.get("event"))
        amount = _money(event["name"], properties)
        if amount is not None:
            currency = text(properties.get("currency")) or site.currency
            event["revenue"] = {"amount": amount, "currency": currency}
            event["order_id"] = text(properties.get("order_id") or properties.get("orderId"))
    elif kind == "page":
        event["type"] = "pageview"
        url = text(properties.get("url")) or url
        event["referrer"] = text(properties.get("referrer")) or event["referrer"]
        event["title"] = text(properties.get("title")) or event["title"]
        props.update(flat_props({"name": message.get("name"), "category": message.get("category")}))
    elif kind == "screen":
        event["name"] = "screen"
        props.update(flat_props({"name": message.get("name"), "category": message.get("category")}))
    elif kind == "group":
        event["name"] = "group"
        props.update(flat_props({"group_id": text(message.get("groupId"))}))
        props.update(flat_props(message.get("traits")))
    elif kind == "identify":
        event["type"] = "identify"
        event["traits"] = bounded_traits(message.get("traits") or context.get("traits"))
    elif kind == "alias":
        event["type"] = "identify"
        event["visitor_id"] = text(message.get("previousId"))
    else:
        event["type"] = kind  # rejected by the wire check, with the type named
    event["url"] = _with_campaign(url, mapping(context.get("campaign")), props)
    event["props"] = dict(list(props.items())[: limits.MAX_PROPS]) or None
    ip, user_agent = text(context.get("ip")), text(context.get("userAgent"))
    if browser:
        # The browser posted itself: the request's own address and agent are the end user's.
        ip, user_agent = ip or request.ip, user_agent or request.user_agent
    event["context"] = {
        "ip": ip,
        "user_agent": user_agent,
        "locale": text(context.get("locale")),
        "screen": _screen(context),
    }
    return event


class SegmentFormat:
    def parse(self, request: Request, directory: SiteDirectory) -> Delivery:
        try:
            body = msgspec.json.decode(request.body)
        except JSON_ERRORS as exc:
            raise FormatError(400, f"body: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise FormatError(400, "body: expected a JSON object")
        key = write_key(request, body)
        if key is None:
            raise FormatError(401, "writeKey: missing (send the site's secret key)")
        site = directory.by_secret_key(key)
        if site is None:
            raise FormatError(401, "writeKey: unknown or revoked secret key")
        path_kind = request.path.rstrip("/").rsplit("/", 1)[-1]
        if path_kind == "batch":
            messages = body.get("batch")
            if not isinstance(messages, list):
                raise FormatError(400, "batch: expected a list of messages")
            if len(messages) > limits.MAX_BATCH_EVENTS:
                raise FormatError(413, f"batch: more than {limits.MAX_BATCH_EVENTS} messages")
        else:
            messages = [body]
        shared_context = mapping(body.get("context"))
        items: list[EventIn | Invalid] = []
        for raw in messages:
            if not isinstance(raw, dict):
                items.append(Invalid(msgspec.json.encode(raw), "message: expected an object"))
                continue
            message = raw
            if shared_context:
                message = {**raw, "context": {**shared_context, **mapping(raw.get("context"))}}
            kind = text(message.get("type")) or path_kind
            items.append(checked(translate(message, kind, request, site)))
        return Delivery(site=site, trusted=True, items=items, sent_at=instant(body.get("sentAt")))


FORMAT = SegmentFormat()
