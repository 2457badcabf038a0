"""The two shapes an event takes inside Clycyo.

Both are declared `gc=False`: they hold text, numbers and flat dicts, never reference cycles, so
the garbage collector need not track the hundreds of thousands of them alive under load. The hot
path builds them from positional arguments (`collect/wire.py`, `pipeline/minimize.py`): msgspec
matches keyword arguments one by one, which costs microseconds with forty fields.

A `Hit` is an event in flight: it carries the request metadata (IP address, user agent) that the
pipeline needs to derive country, device and the cookieless visitor hash. An `Event` is what may be
kept: it has no field for an IP address or a raw user agent, so nothing downstream of `minimize`
can write one to disk. This module holds data definitions only, no behaviour.

Times are integers of microseconds since the Unix epoch (UTC) throughout: they convert to Arrow and
SQL timestamps without building `datetime` objects on the hot path.
"""

from __future__ import annotations

import enum

import msgspec

BROWSER = "browser"
SERVER = "server"


class Hit(msgspec.Struct, gc=False):
    """One incoming event while the pipeline works on it (never stored, never logged)."""

    # Set by the collect boundary.
    site_id: int
    trusted: bool  # sent with the site's secret key
    origin: str  # BROWSER or SERVER
    received_us: int
    ip: str | None = None  # the end user's address: the request's, or context.ip when trusted
    user_agent: str | None = None
    # The event as sent (validated by `validate`).
    type: str = "event"
    name: str = ""
    event_id: str | None = None
    visitor_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    timestamp_us: int | None = None
    sent_us: int | None = None
    url: str | None = None
    referrer: str | None = None
    title: str | None = None
    props: dict[str, str | int | float | bool] | None = None
    revenue_amount: str | None = None  # decimal as text, exact
    revenue_currency: str | None = None
    order_id: str | None = None
    traits: dict[str, object] | None = None
    locale: str | None = None
    screen: str | None = None
    # Added by the enrich_* and identify steps.
    time_us: int = 0
    hostname: str | None = None
    page: str | None = None
    referrer_host: str | None = None
    source: str | None = None
    channel: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    # Which click id the landing URL carried: gclid, fbclid, msclkid, ...
    click_id: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device: str | None = None  # desktop, mobile, tablet, tv or console
    visitor_kind: str | None = None  # "cookie" (sent by the client) or "hash" (cookieless)


class Event(msgspec.Struct, array_like=True, omit_defaults=True, gc=False):
    """One event as stored: what the pipeline derived, minus the request metadata.

    `array_like` keeps the intake log compact: fields are encoded by position, so the field order
    here is part of the log format. Append new fields at the end, with a default.
    """

    site_id: int
    event_id: str
    time_us: int
    received_us: int
    origin: str
    type: str
    name: str
    visitor_id: str | None = None
    visitor_kind: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    url: str | None = None
    hostname: str | None = None
    page: str | None = None
    title: str | None = None
    referrer: str | None = None
    referrer_host: str | None = None
    source: str | None = None
    channel: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    click_id: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device: str | None = None
    locale: str | None = None
    screen: str | None = None
    props: dict[str, str] | None = None
    revenue_amount: str | None = None
    revenue_currency: str | None = None
    order_id: str | None = None
    traits: str | None = None  # JSON text


class DropReason(enum.StrEnum):
    """Why the pipeline let an event go. A closed set: metrics and tests key on these values."""

    INVALID = "invalid"  # failed validation; quarantined with the field and the reason
    BOT = "bot"  # a crawler, monitor, headless browser or HTTP library
    EXCLUDED = "excluded"  # the site's shields keep this traffic out (`filter_excluded`)
    DUPLICATE_EVENT = "duplicate_event"  # the same event_id was already accepted on this site
    DUPLICATE_ORDER = "duplicate_order"  # the same name and order_id already came from this origin
    SUPERSEDED_ORDER = "superseded_order"  # a browser copy of an order the server already sent
    EXPIRED = "expired"  # older than its site's retention: it would be deleted at once


class Drop(msgspec.Struct, frozen=True):
    """A pipeline step's decision to stop an event, with a reason from `DropReason`."""

    reason: DropReason
    detail: str = ""
    # A copy of an order that is not kept but carries props: it still goes to the store's
    # writer, which gives the copy kept the props it lacks (`order_copies`), and the client is
    # told it was a duplicate.
    handed_on: Event | None = None


class Observed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """What the pipeline's steps that read a browser request's IP address and user agent made of
    a rejected event (`pipeline/observe.py`): their results, never their inputs, so that its
    replay, which has neither, is judged and described as the event would have been on arrival."""

    bot: str | None = None  # why `filter_bots` took it for a bot; None for a browser
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    visitor_id: str | None = None  # the cookieless hash, with the salt of the day it arrived


class Rejection(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An invalid event kept for inspection: the event as sent, minus any IP address."""

    site_id: int
    received_us: int
    trusted: bool
    error: str
    payload: str  # JSON text of the event, `context.ip` removed
    observed: Observed | None = None  # a browser event's, where the request was at hand
