"""PostHog's capture API: `POST /batch/`, `/capture/`, `/e/`, `/i/v0/e/` (CONTRACT §3).

The project key is the site's secret key, found as `api_key`, `token` or `$token` in the body,
in an event or its properties (posthog-js puts it there), or as a Bearer token. Bodies come as
JSON (gzip by header or `?compression=gzip-js`), or as a form field `data` holding JSON or its
base64. Each event becomes one Clycyo event; the mapping is in `docs/migrating.md`. This module
only translates.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import msgspec

from clycyo.collect import http, limits
from clycyo.collect.formats.endpoint import Delivery, FormatError, Request
from clycyo.collect.formats.shape import (
    FieldError,
    amount_field,
    bounded_traits,
    checked,
    flat_props,
    instant,
    json_kind,
    mapping,
    object_field,
    text_field,
)
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import JSON_ERRORS, EventIn, decode_any_json
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site

PATHS = ("/batch/", "/capture/", "/e/", "/i/v0/e/")
_KEY_FIELDS = ("api_key", "token", "$token")
# Properties that only say something to PostHog itself, or that become event fields here.
_NOT_PROPS = ("token", "distinct_id", "alias", "revenue", "currency")


def _json_text(request: Request) -> tuple[bytes, str]:
    """The JSON text of a body, whichever of PostHog's encodings it arrived in, and where it was
    found (`body`, or the form field `data`), for error messages."""
    body = request.body
    source = "body"
    compression = request.query.get("compression", "")
    if compression in ("gzip", "gzip-js") and b"content-encoding" not in request.headers:
        body = http.inflate(body)
    elif compression == "lz64":
        raise FormatError(400, "compression: lz64 is not supported; use gzip-js or none")
    stripped = body.lstrip()
    if stripped.startswith(b"data="):
        # Escapes are read as the bytes they stand for (`%E2%82%AC`, the UTF-8 of `€`, is three
        # bytes, not three characters): the field's bytes are then read as any body's are.
        form = parse_qs(stripped.decode("latin-1"), encoding="latin-1")
        body = form.get("data", [""])[0].encode("latin-1")
        stripped = body.lstrip()
        source = "data"
    if stripped[:1] not in (b"{", b"["):
        try:
            body = base64.b64decode(stripped, validate=False)
        except binascii.Error:
            raise FormatError(400, f"{source}: neither JSON nor base64 JSON") from None
    return body, source


def _key(request: Request, body: Any, events: list[Any]) -> str:
    """The project key of the request; `FormatError` when there is none, or several."""
    authorization = request.headers.get(b"authorization", b"").decode("latin-1")
    if authorization.startswith("Bearer ") and authorization.removeprefix("Bearer ").strip():
        return authorization.removeprefix("Bearer ").strip()
    holders: list[Mapping[str, Any]] = [body] if isinstance(body, dict) else []
    for event in events:
        if isinstance(event, dict):
            holders += [event, mapping(event.get("properties"))]
    keys: set[str] = set()
    for holder in holders:
        for field in _KEY_FIELDS:
            value = holder.get(field)
            if isinstance(value, str) and value:
                keys.add(value)
            elif value is not None and value != "":
                kind = json_kind(value)
                raise FormatError(401, f"{field}: expected the secret key as a string, got {kind}")
    if not keys:
        raise FormatError(401, "api_key: missing (send the site's secret key)")
    if len(keys) > 1:
        # Two different keys in one body could be two sites: refuse rather than guess.
        raise FormatError(400, "api_key: different keys in one body; send each site's events apart")
    return keys.pop()


def _timestamp(event: Mapping[str, Any], properties: Mapping[str, Any]) -> object:
    if event.get("timestamp") is not None:
        return event["timestamp"]
    seconds = properties.get("$time")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return seconds * 1000
    if seconds is not None:
        raise FieldError(f"properties.$time: expected epoch seconds, got {json_kind(seconds)}")
    offset_ms = event.get("offset")
    if isinstance(offset_ms, int) and not isinstance(offset_ms, bool):
        return time.time_ns() // 1_000_000 - offset_ms
    if offset_ms is not None:
        raise FieldError(f"offset: expected whole milliseconds, got {json_kind(offset_ms)}")
    return None


def translate(event: Mapping[str, Any], request: Request, site: Site) -> dict[str, Any]:
    """One PostHog event in Clycyo's wire shape (not yet checked); `FieldError` for a field of
    the wrong type."""
    properties = object_field(event, "properties")

    def prop(key: str) -> str | None:
        return text_field(properties, key, f"properties.{key}")

    name = text_field(event, "event")
    distinct = text_field(event, "distinct_id") or prop("distinct_id")
    device = prop("$device_id")
    anonymous = (
        properties.get("$is_identified") is False
        or properties.get("$process_person_profile") is False
        or (distinct is not None and distinct == device)
    )
    browser = properties.get("$lib") == "web"
    referrer = prop("$referrer")
    out: dict[str, Any] = {
        "type": "event",
        "name": name,
        "event_id": text_field(event, "uuid"),
        "visitor_id": distinct if anonymous else device,
        "user_id": None if anonymous else distinct,
        "session_id": prop("$session_id"),
        "timestamp": _timestamp(event, properties),
        "sent_at": event.get("sent_at"),
        "url": prop("$current_url"),
        "referrer": None if referrer == "$direct" else referrer,
        "title": prop("title"),
        "origin": "browser" if browser else "server",
        "props": flat_props(properties, skip=_NOT_PROPS, skip_prefix="$") or None,
    }
    person = {
        **object_field(properties, "$set_once", "properties.$set_once"),
        **object_field(properties, "$set", "properties.$set"),
        **object_field(event, "$set_once"),
        **object_field(event, "$set"),
    }
    if name == "$pageview":
        out["type"], out["name"] = "pageview", None
    elif name == "$identify":
        out["type"] = "identify"
        out["visitor_id"] = prop("$anon_distinct_id") or device
        out["user_id"] = distinct
    elif name == "$create_alias":
        out["type"] = "identify"
        out["visitor_id"], out["user_id"] = distinct, prop("alias")
    elif name in ("$set", "$set_once"):
        out["type"], out["user_id"] = "identify", distinct
    amount = amount_field(properties, "revenue", "properties.revenue")
    if amount is not None:
        out["revenue"] = {"amount": amount, "currency": prop("currency") or site.currency}
        out["order_id"] = prop("order_id" if properties.get("order_id") else "orderId")
    if out["type"] == "identify":
        out["name"] = None
        out["traits"] = bounded_traits(person)
        if out["visitor_id"] == out["user_id"]:
            out["visitor_id"] = None
    ip = prop("$ip")
    user_agent = prop("$raw_user_agent")
    if browser:
        # posthog-js posts from the page: the request's own address and agent are the user's.
        ip, user_agent = ip or request.ip, user_agent or request.user_agent
    out["context"] = {"ip": ip, "user_agent": user_agent}
    return out


class PostHogFormat:
    def parse(self, request: Request, directory: SiteDirectory) -> Delivery:
        source = "body"
        try:
            text, source = _json_text(request)
            body = decode_any_json(text)
        except http.BodyError as exc:
            raise FormatError(exc.status, exc.message) from None  # a gzip bomb is a 413
        except JSON_ERRORS as exc:
            raise FormatError(400, f"{source}: not JSON ({exc})") from None
        if isinstance(body, list):
            events = body
        elif isinstance(body, dict):
            batch = body.get("batch", body.get("data"))
            if body.get("batch") is not None and not isinstance(batch, list):
                raise FormatError(400, f"batch: expected a list of events, got {json_kind(batch)}")
            events = batch if isinstance(batch, list) else [body]
        else:
            raise FormatError(400, "body: expected a JSON object or list")
        if len(events) > limits.MAX_BATCH_EVENTS:
            raise FormatError(413, f"batch: more than {limits.MAX_BATCH_EVENTS} events")
        site = directory.by_secret_key(_key(request, body, events))
        if site is None:
            raise FormatError(401, "api_key: unknown or revoked secret key")
        items: list[EventIn | Invalid] = []
        for event in events:
            if not isinstance(event, dict):
                items.append(Invalid(msgspec.json.encode(event), "event: expected an object"))
                continue
            try:
                items.append(checked(translate(event, request, site)))
            except FieldError as exc:
                items.append(Invalid(msgspec.json.encode(event), str(exc)))
        sent_at = instant(body.get("sent_at")) if isinstance(body, dict) else None
        return Delivery(site=site, trusted=True, items=items, sent_at=sent_at, extra={"status": 1})


FORMAT = PostHogFormat()
