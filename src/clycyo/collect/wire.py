"""Clycyo's own wire format for `POST /api/collect`: typed shapes and their decoding.

msgspec checks types and sizes while it parses, so a wrong type or an over-long string becomes an
error that names the field. This module turns bytes into `EventIn` values and those into `Hit`s;
it applies no business rules (those live in `pipeline/validate.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal

import msgspec

from clycyo.collect import limits
from clycyo.model import Hit

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_NAME_CHARS)]
IdText = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_ID_CHARS)]
# Ids may be sent as numbers (many products number their users and orders); stored as text.
Id = IdText | int
Url = Annotated[str, msgspec.Meta(max_length=limits.MAX_URL_CHARS)]
Text = Annotated[str, msgspec.Meta(max_length=limits.MAX_TEXT_CHARS)]
PropKey = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_PROP_KEY_CHARS)]
PropValue = (
    Annotated[str, msgspec.Meta(max_length=limits.MAX_PROP_VALUE_CHARS)] | bool | int | float
)
Props = Annotated[dict[PropKey, PropValue], msgspec.Meta(max_length=limits.MAX_PROPS)]
Traits = Annotated[dict[PropKey, Any], msgspec.Meta(max_length=limits.MAX_PROPS)]
# Epoch milliseconds (int or float) or an RFC 3339 string.
Instant = int | float | dt.datetime


class RevenueIn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    amount: Annotated[str, msgspec.Meta(max_length=40)] | int | float
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{3}$")]


class ContextIn(msgspec.Struct, gc=False):
    ip: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    user_agent: Text | None = None
    locale: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    screen: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class EventIn(msgspec.Struct, kw_only=True, gc=False):
    """One event as a client sends it; unknown fields are ignored for forward compatibility."""

    type: Literal["pageview", "event", "identify"] = "event"
    name: Name | None = None
    event_id: Id | None = None
    visitor_id: Id | None = None
    user_id: Id | None = None
    session_id: Id | None = None
    timestamp: Instant | None = None
    sent_at: Instant | None = None
    url: Url | None = None
    referrer: Url | None = None
    title: Text | None = None
    props: Props | None = None
    revenue: RevenueIn | None = None
    order_id: Id | None = None
    traits: Traits | None = None
    context: ContextIn | None = None
    # Honoured with the secret key only: marks browser events imported or relayed by a backend.
    origin: Literal["browser", "server"] | None = None
    key: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class BodyIn(EventIn, kw_only=True):
    """The top level of a body: a batch envelope, or a single event (then `batch` is absent)."""

    batch: list[msgspec.Raw] | None = None  # its length is checked by the handler (413)


class ValidBodyIn(EventIn, kw_only=True):
    """A body whose events are all valid, decoded in one pass (see `decode_valid_body`)."""

    batch: list[EventIn] | None = None


# What decoding hostile JSON raises besides msgspec's own error: invalid UTF-8 inside a string,
# and nesting deeper than the interpreter's recursion limit. Each is the client's fault (a 400).
JSON_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
# Epoch milliseconds beyond this (the year 33658) cannot be a time; it would overflow later.
_MAX_EPOCH_MS = 10**15

_valid_body_decoder = msgspec.json.Decoder(ValidBodyIn)
_event_decoder = msgspec.json.Decoder(EventIn)
# msgspec names the place of an error as `$.a.b`, or `key` in `$.props` when a key is wrong.
_PATH = re.compile(r" - at (`key` in )?`\$\.?(.*)`$")
# A map's entries as the wire format allows them, to find the entry msgspec did not name.
_ENTRY_TYPES: dict[str, tuple[Any, Any]] = {"props": (PropKey, PropValue), "traits": (PropKey, Any)}
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$-]{1,40}")
_BAD_BYTE = re.compile("[\udc80-\udcff]")
# A `\uXXXX` escape of a UTF-16 surrogate: a high one with its low one (a pair, one character),
# or one alone (group 2). Any other escape, `\\` among them, is matched as itself, so that an
# escaped backslash followed by `ud83d` is not taken for an escape.
_SURROGATE_ESCAPE = re.compile(
    rb"\\(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|(u[dD][89a-fA-F][0-9a-fA-F]{2})|.)",
    re.DOTALL,
)
_NOT_AN_OBJECT = re.compile(r"Expected `object`, got `(\w+)`")


class WireError(ValueError):
    """The body or one event does not match the wire format; the message names the field."""


def describe(exc: Exception, source: bytes | dict[str, Any] | None = None) -> str:
    """Rewrite msgspec's message `Expected X - at `$.a.b`` as `a.b: expected X`.

    msgspec names a map but not its entry; given the event (`source`, as JSON or as an object),
    an error inside `props` or `traits` names the key, as `props.plan: expected ...`."""
    if isinstance(exc, UnicodeDecodeError):
        return _not_utf8(exc, source)
    if isinstance(exc, RecursionError):
        return "body: JSON nested too deeply"
    message = str(exc)
    match = _PATH.search(message)
    if not match:
        return f"body: {_lower_first(message.replace('`', ''))}"
    reason = _lower_first(message[: match.start()].replace("`", ""))
    field = match.group(2) or "body"
    field = re.sub(r"^\[(\d+)\]\.?", "", field) or field
    field = field.replace("[...]", "")
    if field in _ENTRY_TYPES and source is not None:
        named = _entry_problem(field, _generic(source).get(field))
        if named is not None:
            return named
    if match.group(1):
        reason = f"key {reason}"
    return f"{field}: {reason}"


def _not_utf8(exc: UnicodeDecodeError, source: bytes | dict[str, Any] | None) -> str:
    """`title: not valid UTF-8 (byte 57 of the event)`: msgspec's own offset counts from the
    start of the string it was reading, and it names no field."""
    if not isinstance(source, bytes):
        return "body: not valid UTF-8"
    try:
        source.decode()
    except UnicodeDecodeError as found:
        offset = found.start
    else:
        return "body: not valid UTF-8"
    # Each bad byte read as a lone surrogate (U+DC80 to U+DCFF), which marks the string holding it;
    # no escape can make one here, since a body's lone surrogate escapes are replaced first.
    try:
        field = _holding_bad_byte(json.loads(source.decode("utf-8", "surrogateescape")), "")
    except (ValueError, RecursionError):
        field = None
    field = field or "body"
    return f"{field}: not valid UTF-8 (byte {offset} of the event)"


def _holding_bad_byte(value: object, path: str, depth: int = 0) -> str | None:
    """The path of the first string (or the object with the first key) holding a bad byte;
    below the second level (inside `traits`) the path names the entry, not the whole way down."""
    if isinstance(value, str):
        return path if _BAD_BYTE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _BAD_BYTE.search(key):
                return path or "body"
            inner = path if depth >= 2 else _entry_name(path, key) if path else key
            found = _holding_bad_byte(item, inner, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = path if depth >= 2 else f"{path}[{index}]"
            found = _holding_bad_byte(item, inner, depth + 1)
            if found is not None:
                return found
    return None


def _lower_first(text: str) -> str:
    """`Expected ...` as `expected ...`, but `JSON is ...` (an acronym) left as it is."""
    word = text.split(" ", 1)[0]
    if any(c.isupper() for c in word[1:]):
        return text
    return text[:1].lower() + text[1:]


def _generic(source: bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    try:
        decoded = msgspec.json.decode(source)
    except JSON_ERRORS:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _entry_problem(field: str, entries: object) -> str | None:
    """The first entry of `props` or `traits` that breaks a rule, named with its key."""
    if not isinstance(entries, dict):
        return None
    key_type, value_type = _ENTRY_TYPES[field]
    for key, value in entries.items():
        for part, kind, item in (("key ", key_type, key), ("", value_type, value)):
            try:
                msgspec.convert(item, kind)
            except msgspec.ValidationError as exc:
                reason = _lower_first(str(exc).replace("`", ""))
                return f"{_entry_name(field, key)}: {part}{reason}"
    if len(entries) > limits.MAX_PROPS:
        key = list(entries)[limits.MAX_PROPS]
        return f"{_entry_name(field, key)}: more than {limits.MAX_PROPS} keys in {field}"
    return None


def _entry_name(field: str, key: object) -> str:
    """`props.plan`; a key that is long, empty or not plain is quoted (and cut short)."""
    text = str(key)
    if _PLAIN_KEY.fullmatch(text):
        return f"{field}.{text}"
    shown = text if len(text) <= 40 else text[:40] + "…"
    return f"{field}[{json.dumps(shown, ensure_ascii=False)}]"


def decode_valid_body(body: bytes) -> ValidBodyIn | None:
    """The body with every event decoded, or None if anything in it is invalid.

    The usual body is valid throughout, and one pass over a batch costs half as much as
    decoding the envelope and then each event (`decode_body`, `decode_event`), which a caller
    does when this returns None, to say which event is wrong and keep the others."""
    try:
        return _valid_body_decoder.decode(body)
    except JSON_ERRORS:
        return None


def decode_event(raw: msgspec.Raw | bytes) -> EventIn:
    try:
        return _event_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        # An event that is no object at all has no field to name: say what it is instead.
        if match := _NOT_AN_OBJECT.fullmatch(str(exc)):
            raise WireError(f"expected an object, got {match.group(1)}") from None
        raise WireError(describe(exc, bytes(raw))) from None
    except JSON_ERRORS as exc:
        raise WireError(describe(exc, bytes(raw))) from None


def without_lone_surrogates(body: bytes) -> bytes | None:
    """The body with each escape of a lone UTF-16 surrogate (`\\ud83d` not followed by its low
    half, or a low half alone) replaced by `\\ufffd`; None when it has none.

    JSON's grammar allows these escapes, and a browser's `JSON.stringify` writes one for half an
    emoji; msgspec refuses them, and with them the whole body. The replacement is as long as
    what it replaces, so byte offsets in later error messages still point into the body sent.
    Only called for a body msgspec refused: the usual body pays nothing for it."""
    repaired = _SURROGATE_ESCAPE.sub(_replace_lone_surrogate, body)
    return None if repaired == body else repaired


def decode_any_json(body: bytes) -> Any:
    """Whatever JSON value the body holds (the other clients' formats read theirs untyped), a
    lone surrogate escape read as U+FFFD as in our own format; msgspec's errors otherwise."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        repaired = without_lone_surrogates(body)
        if repaired is None:
            raise
    return msgspec.json.decode(repaired)


def _replace_lone_surrogate(match: re.Match[bytes]) -> bytes:
    return b"\\ufffd" if match.group(2) else match.group(0)


def instant_us(value: Instant, field: str = "timestamp") -> int:
    """Epoch milliseconds or an RFC 3339 time as epoch microseconds (naive times are UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp()) * 1_000_000 + value.microsecond
    if isinstance(value, bool):
        raise WireError(f"{field}: expected epoch milliseconds or RFC 3339 text")
    if not abs(value) <= _MAX_EPOCH_MS:  # also false for NaN
        raise WireError(f"{field}: out of range (epoch milliseconds expected)")
    return int(value * 1000)


def _text(value: str | int | None) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def to_hit(
    event: EventIn,
    *,
    site_id: int,
    trusted: bool,
    received_us: int,
    ip: str | None,
    user_agent: str | None,
    batch_sent_at: Instant | None = None,
) -> Hit:
    """Build the pipeline's `Hit`. With the secret key the end user's IP and user agent are those
    forwarded in `context`; without it, the request's own (and `context.ip` is ignored)."""
    context = event.context
    if trusted:
        # A backend's own address and HTTP library say nothing about its end user: only what it
        # forwards in `context` describes the person.
        ip = context.ip if context is not None else None
        user_agent = context.user_agent if context is not None else None
    revenue = event.revenue
    sent_at = event.sent_at if event.sent_at is not None else batch_sent_at
    # Positional, in `Hit`'s field order (see model.py for why).
    return Hit(
        site_id,
        trusted,
        (event.origin or "server") if trusted else "browser",  # origin
        received_us,
        ip,
        user_agent,
        event.type,
        event.name or (event.type if event.type != "event" else ""),  # name
        _text(event.event_id),
        _text(event.visitor_id),
        _text(event.user_id),
        _text(event.session_id),
        None if event.timestamp is None else instant_us(event.timestamp),  # timestamp_us
        None if sent_at is None else instant_us(sent_at, "sent_at"),  # sent_us
        event.url,
        event.referrer,
        event.title,
        event.props,
        None if revenue is None else str(revenue.amount),  # revenue_amount
        None if revenue is None else revenue.currency.upper(),  # revenue_currency
        _text(event.order_id),
        event.traits,
        context.locale if context else None,
        context.screen if context else None,
    )
