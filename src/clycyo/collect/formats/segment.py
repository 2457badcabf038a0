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
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec

from clycyo.collect import limits
from clycyo.collect.formats.endpoint import Delivery, FormatError, Request
from clycyo.collect.formats.shape import (
    FieldError,
    amount_field,
    bounded_traits,
    checked,
    flat_props,
    instant,
    json_kind,
    object_field,
    text_field,
)
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import JSON_ERRORS, EventIn, decode_any_json
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
    return text_field(body, "writeKey")


def _with_campaign(
    url: str | None, campaign: Mapping[str, Any], props: dict[str, Any]
) -> str | None:
    """UTM tags from `context.campaign` join the page URL (the pipeline reads them there), or
    the props when there is no page."""
    tags = {
        tag: text_field(campaign, key, f"context.campaign.{key}")
        for key, tag in _CAMPAIGN_TAGS.items()
    }
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
    amount = amount_field(properties, "revenue", "properties.revenue")
    if name in ("Order Completed", "Order Refunded") and properties.get("total") is not None:
        amount = amount_field(properties, "total", "properties.total")
    if amount is None or name != "Order Refunded":
        return amount
    try:
        refund = Decimal(str(amount))
    except ArithmeticError:
        return amount  # rejected by validation, with the field named
    # copy_negate, unlike -abs(), ignores the context (-abs(Decimal("1e999999999")) overflows),
    # and str() keeps the exponent: validation bounds the amount before writing it out in full.
    return str(refund if refund.is_signed() else refund.copy_negate())


def _screen(context: Mapping[str, Any]) -> str | None:
    screen = object_field(context, "screen", "context.screen")
    width = text_field(screen, "width", "context.screen.width")
    height = text_field(screen, "height", "context.screen.height")
    return f"{width}x{height}" if width and height else None


def translate(
    message: Mapping[str, Any], kind: str, request: Request, site: Site
) -> dict[str, Any]:
    """One Segment message in Clycyo's wire shape (not yet checked); `FieldError` for a field
    of the wrong type."""
    context = object_field(message, "context")
    page = object_field(context, "page", "context.page")
    properties = object_field(message, "properties")
    library = object_field(context, "library", "context.library")
    browser = text_field(library, "name", "context.library.name") in BROWSER_LIBRARIES
    props = flat_props(properties)
    timestamp = "originalTimestamp" if message.get("originalTimestamp") else "timestamp"
    event: dict[str, Any] = {
        "type": "event",
        "event_id": text_field(message, "messageId"),
        "visitor_id": text_field(message, "anonymousId"),
        "user_id": text_field(message, "userId"),
        "timestamp": _instant_field(message, timestamp),
        "sent_at": _instant_field(message, "sentAt"),
        "referrer": text_field(page, "referrer", "context.page.referrer"),
        "title": text_field(page, "title", "context.page.title"),
        "origin": "browser" if browser else "server",
    }
    url = text_field(page, "url", "context.page.url")
    if kind == "track":
        event["name"] = text_field(message, "event")
        amount = _money(event["name"], properties)
        if amount is not None:
            currency = text_field(properties, "currency", "properties.currency") or site.currency
            event["revenue"] = {"amount": amount, "currency": currency}
            order_key = "order_id" if properties.get("order_id") else "orderId"
            event["order_id"] = text_field(properties, order_key, f"properties.{order_key}")
    elif kind == "page":
        event["type"] = "pageview"
        url = text_field(properties, "url", "properties.url") or url
        referrer = text_field(properties, "referrer", "properties.referrer")
        event["referrer"] = referrer or event["referrer"]
        event["title"] = text_field(properties, "title", "properties.title") or event["title"]
        props.update(flat_props({"name": message.get("name"), "category": message.get("category")}))
    elif kind == "screen":
        event["name"] = "screen"
        props.update(flat_props({"name": message.get("name"), "category": message.get("category")}))
    elif kind == "group":
        event["name"] = "group"
        props.update(flat_props({"group_id": text_field(message, "groupId")}))
        props.update(flat_props(object_field(message, "traits")))
    elif kind == "identify":
        event["type"] = "identify"
        traits = object_field(message, "traits") or object_field(
            context, "traits", "context.traits"
        )
        event["traits"] = bounded_traits(traits)
    elif kind == "alias":
        event["type"] = "identify"
        event["visitor_id"] = text_field(message, "previousId")
    else:
        event["type"] = kind  # rejected by the wire check, with the type named
    campaign = object_field(context, "campaign", "context.campaign")
    event["url"] = _with_campaign(url, campaign, props)
    event["props"] = dict(list(props.items())[: limits.MAX_PROPS]) or None
    ip = text_field(context, "ip", "context.ip")
    user_agent = text_field(context, "userAgent", "context.userAgent")
    if browser:
        # The browser posted itself: the request's own address and agent are the end user's.
        ip, user_agent = ip or request.ip, user_agent or request.user_agent
    event["context"] = {
        "ip": ip,
        "user_agent": user_agent,
        "locale": text_field(context, "locale", "context.locale"),
        "screen": _screen(context),
    }
    return event


def _instant_field(message: Mapping[str, Any], key: str) -> object:
    """A time as sent, for the wire check; `FieldError` naming it when it cannot be one, since the
    wire check would name Clycyo's field instead."""
    value = message.get(key)
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise FieldError(f"{key}: expected RFC 3339 text or epoch milliseconds, got {json_kind(value)}")


class SegmentFormat:
    def parse(self, request: Request, directory: SiteDirectory) -> Delivery:
        try:
            body = decode_any_json(request.body)
        except JSON_ERRORS as exc:
            raise FormatError(400, f"body: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise FormatError(400, "body: expected a JSON object")
        try:
            key = write_key(request, body)
        except FieldError as exc:
            raise FormatError(401, str(exc)) from None
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
            try:
                shared_context = object_field(body, "context")  # each message's adds to it
            except FieldError as exc:
                raise FormatError(400, str(exc)) from None
        else:
            messages, shared_context = [body], {}
        items: list[EventIn | Invalid] = []
        for raw in messages:
            if not isinstance(raw, dict):
                items.append(Invalid(msgspec.json.encode(raw), "message: expected an object"))
                continue
            try:
                message = raw
                if shared_context:
                    context = {**shared_context, **object_field(raw, "context")}
                    message = {**raw, "context": context}
                kind = text_field(message, "type") or path_kind
                event = translate(message, kind, request, site)
            except FieldError as exc:
                items.append(Invalid(msgspec.json.encode(raw), str(exc)))
                continue
            items.append(checked(event))
        return Delivery(site=site, trusted=True, items=items, sent_at=instant(body.get("sentAt")))


FORMAT = SegmentFormat()
