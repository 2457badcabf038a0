"""Plausible's events API: `POST /api/event` with `n u d r p $` or their long names (CONTRACT §3).

Plausible's script sends no key: the site is the first known domain in `d` (a comma-separated
list), and the hit is treated as a public (browser) one, exactly like a hit sent with a public
key: the request's IP address and user agent are the visitor's (hashed with the daily salt, since
the script keeps no id), a page of another site is rejected, and so is a request whose `Origin`
is not a page of the site. This module only translates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from clycyo.collect.formats.endpoint import Delivery, FormatError, Request
from clycyo.collect.formats.shape import (
    FieldError,
    checked,
    flat_props,
    json_kind,
    object_field,
    text_field,
)
from clycyo.collect.ingest import Invalid
from clycyo.collect.origins import belongs_to, origin_host
from clycyo.collect.wire import JSON_ERRORS, EventIn, decode_any_json
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site

PATHS = ("/api/event",)
# Plausible's engagement event measures what Clycyo's tracker measures, under other names.
_ENGAGEMENT_PROPS = {"sd": "scroll_depth", "e": "engaged_ms"}


def _key(body: Mapping[str, Any], short: str, long: str) -> str:
    """Which of a field's two names the body uses (the short one when both are there)."""
    return short if body.get(short) is not None else long


def _text(body: Mapping[str, Any], short: str, long: str) -> str | None:
    return text_field(body, _key(body, short, long))


def _object(body: Mapping[str, Any], short: str, long: str) -> Mapping[str, Any]:
    """An object field; older scripts send `p` and `$` as JSON text rather than as objects."""
    key = _key(body, short, long)
    value = body.get(key)
    if isinstance(value, str):
        try:
            value = msgspec.json.decode(value)
        except JSON_ERRORS:
            raise FieldError(f"{key}: neither an object nor JSON text of one") from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise FieldError(f"{key}: JSON text of {json_kind(value)}, not of an object")
        return value
    return object_field(body, key)


def _site(body: Mapping[str, Any], directory: SiteDirectory) -> Site:
    try:
        domains = _text(body, "d", "domain")
    except FieldError as exc:
        raise FormatError(400, str(exc)) from None
    names = [d.strip().lower() for d in (domains or "").split(",") if d.strip()]
    for name in names:
        site = directory.by_domain(name.removeprefix("www."))
        if site is not None:
            return site
    if not names:
        raise FormatError(400, "d: the site's domain is required")
    raise FormatError(401, f"d: no site for {', '.join(names)[:200]}")


def translate(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Plausible event in Clycyo's wire shape (not yet checked); `FieldError` for a field of
    the wrong type."""
    name = _text(body, "n", "name")
    event: dict[str, Any] = {
        "type": "pageview" if name == "pageview" else "event",
        "name": None if name == "pageview" else name,
        "url": _text(body, "u", "url"),
        "referrer": _text(body, "r", "referrer"),
        "props": flat_props(_object(body, "p", "props")) or None,
    }
    if name == "engagement":
        measured = {}
        for theirs, ours in _ENGAGEMENT_PROPS.items():
            value = body.get(theirs)
            if isinstance(value, int | float) and not isinstance(value, bool):
                measured[ours] = value
            elif value is not None:
                raise FieldError(f"{theirs}: expected a number, got {json_kind(value)}")
        event["props"] = measured or None
    revenue = _object(body, "$", "revenue")
    if revenue:
        event["revenue"] = {"amount": revenue.get("amount"), "currency": revenue.get("currency")}
    return event


class PlausibleFormat:
    def parse(self, request: Request, directory: SiteDirectory) -> Delivery:
        try:
            body = decode_any_json(request.body)
        except JSON_ERRORS as exc:
            raise FormatError(400, f"body: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise FormatError(400, "body: expected a JSON object")
        site = _site(body, directory)
        origin = request.headers.get(b"origin")
        if origin is not None:
            host = origin_host(origin.decode("latin-1"))
            if host is None or not belongs_to(host, site.domain):
                raise FormatError(403, f"origin: not a page of {site.domain}")
        try:
            item: EventIn | Invalid = checked(translate(body))
        except FieldError as exc:
            item = Invalid(msgspec.json.encode(body), str(exc))
        return Delivery(
            site=site,
            trusted=False,
            items=[item],
            ip=request.ip,
            user_agent=request.user_agent,
        )


FORMAT = PlausibleFormat()
