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
from clycyo.collect.formats.shape import checked, flat_props, mapping, text
from clycyo.collect.origins import belongs_to, host_of
from clycyo.collect.wire import JSON_ERRORS
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site

PATHS = ("/api/event",)
# Plausible's engagement event measures what Clycyo's tracker measures, under other names.
_ENGAGEMENT_PROPS = {"sd": "scroll_depth", "e": "engaged_ms"}


def _field(body: Mapping[str, Any], short: str, long: str) -> Any:
    return body[short] if body.get(short) is not None else body.get(long)


def _object(value: Any) -> Any:
    """Older scripts send `p` and `$` as JSON text rather than as objects."""
    if isinstance(value, str):
        try:
            return msgspec.json.decode(value)
        except JSON_ERRORS:
            return None
    return value


def _site(domains: object, directory: SiteDirectory) -> Site:
    names = [d.strip().lower() for d in (text(domains) or "").split(",") if d.strip()]
    for name in names:
        site = directory.by_domain(name.removeprefix("www."))
        if site is not None:
            return site
    if not names:
        raise FormatError(400, "d: the site's domain is required")
    raise FormatError(401, f"d: no site for {', '.join(names)[:200]}")


def translate(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Plausible event in Clycyo's wire shape (not yet checked)."""
    name = text(_field(body, "n", "name"))
    event: dict[str, Any] = {
        "type": "pageview" if name == "pageview" else "event",
        "name": None if name == "pageview" else name,
        "url": text(_field(body, "u", "url")),
        "referrer": text(_field(body, "r", "referrer")),
        "props": flat_props(_object(_field(body, "p", "props"))) or None,
    }
    if name == "engagement":
        event["props"] = {
            ours: value
            for theirs, ours in _ENGAGEMENT_PROPS.items()
            if isinstance(value := body.get(theirs), int | float) and not isinstance(value, bool)
        } or None
    revenue = mapping(_object(_field(body, "$", "revenue")))
    if revenue:
        event["revenue"] = {"amount": revenue.get("amount"), "currency": revenue.get("currency")}
    return event


class PlausibleFormat:
    def parse(self, request: Request, directory: SiteDirectory) -> Delivery:
        try:
            body = msgspec.json.decode(request.body)
        except JSON_ERRORS as exc:
            raise FormatError(400, f"body: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise FormatError(400, "body: expected a JSON object")
        site = _site(_field(body, "d", "domain"), directory)
        origin = request.headers.get(b"origin")
        if origin is not None:
            host = host_of(origin.decode("latin-1"))
            if host is None or not belongs_to(host, site.domain):
                raise FormatError(403, f"origin: not a page of {site.domain}")
        return Delivery(
            site=site,
            trusted=False,
            items=[checked(translate(body))],
            ip=request.ip,
            user_agent=request.user_agent,
        )


FORMAT = PlausibleFormat()
