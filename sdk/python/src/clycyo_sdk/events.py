"""The wire shape of one event (CONTRACT §2) and its encoding to JSON.

`Client.track()` puts a plain dict on the queue holding the values exactly as the caller gave
them, with the time as `time.time()`. Everything that costs (the event id, time formatting, revenue
amounts as text, JSON) happens here, in the consumer thread, so the caller pays for one dict only.
Nothing here does I/O or logs: a bad event raises `InvalidEvent` and the caller decides.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import os
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple, Union

Event = dict[str, Any]

# Numbers below this are epoch seconds, above it epoch milliseconds: 1e11 seconds is the year 5138
# and 1e11 milliseconds is March 1973, so no time worth sending is ambiguous.
_SECONDS_LIMIT = 1e11
_ID_FIELDS = ("event_id", "visitor_id", "user_id", "order_id")
# The version (4) and variant (RFC 4122) bits of a UUID4, as `uuid.uuid4()` sets them.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET = (0x8000 << 48) | (4 << 76)


class Revenue(NamedTuple):
    """A money amount. Give `amount` as Decimal, str or int: it is sent as exact text."""

    amount: Decimal | str | int | float
    currency: str


RevenueLike = Union[Revenue, tuple[Any, str], Mapping[str, Any]]
Id = Union[str, int]  # ids from a database are often ints: they are sent as text
Timestamp = Union[dt.datetime, str, int, float]


class InvalidEvent(ValueError):
    """The event cannot be sent; the message names the field and never quotes its value."""


def finalize(event: Mapping[str, Any]) -> Event:
    """Return the wire shape of a queued event: ids stamped, time and money formatted, no Nones.

    The event id is stamped here, once, before the first delivery attempt: every retry then
    carries the same id and the collector counts the event once.
    """
    wire = {key: value for key, value in event.items() if value is not None}
    if "event_id" not in wire:
        wire["event_id"] = new_event_id()
    for key in _ID_FIELDS:
        value = wire.get(key)
        if value is not None and not isinstance(value, str):
            wire[key] = str(value)  # ints from a database are common ids
    kind = wire.get("type", "event")
    if kind == "event":
        name = wire.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidEvent("name: an event needs a non-empty string name")
    elif kind == "identify" and not wire.get("user_id"):
        raise InvalidEvent("user_id: identify needs a user_id")
    if "timestamp" in wire:
        wire["timestamp"] = wire_time(wire["timestamp"])
    if "revenue" in wire:
        wire["revenue"] = wire_revenue(wire["revenue"])
    if "context" in wire:
        context = wire_context(wire["context"])
        if context:
            wire["context"] = context
        else:
            del wire["context"]
    if "props" in wire and not isinstance(wire["props"], Mapping):
        raise InvalidEvent("props: expected a dict")
    if "traits" in wire and not isinstance(wire["traits"], Mapping):
        raise InvalidEvent("traits: expected a dict")
    return wire


def new_event_id() -> str:
    """A random UUID4 as 32 hex digits, the same as `uuid.uuid4().hex`, at less than half its cost:
    `uuid.uuid4()` was a quarter of the consumer's time per event."""
    return "%032x" % (int.from_bytes(os.urandom(16), "big") & _UUID4_CLEAR | _UUID4_SET)


def encode(wire: Event) -> bytes:
    """JSON bytes of one finalized event."""
    try:
        text = _ENCODER.encode(wire)
    except ValueError:
        raise InvalidEvent("a number is NaN or infinite") from None
    except (TypeError, RecursionError):
        raise InvalidEvent("a value cannot be written as JSON") from None
    # A lone surrogate would make the whole body invalid UTF-8; replace it instead.
    return text.encode("utf-8", "replace")


def wire_time(value: Any) -> int | float | str:
    """Epoch milliseconds (with microseconds as decimals) or RFC 3339 text, as given."""
    if isinstance(value, bool):
        raise InvalidEvent("timestamp: expected a datetime, RFC 3339 text or epoch seconds")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InvalidEvent("timestamp: not a finite number")
        ms = value * 1000.0 if abs(value) < _SECONDS_LIMIT else float(value)
    elif isinstance(value, dt.datetime):
        # Naive datetimes are local time, as everywhere else in Python.
        ms = value.timestamp() * 1000.0
    elif isinstance(value, str):
        return value
    else:
        raise InvalidEvent("timestamp: expected a datetime, RFC 3339 text or epoch seconds")
    whole_ms = int(ms)
    return whole_ms if whole_ms == ms else round(ms, 3)


def wire_amount(amount: Any) -> str:
    """A money amount as exact decimal text; floats go through their shortest repr."""
    if isinstance(amount, bool):
        raise InvalidEvent("revenue.amount: expected a Decimal, str or int")
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise InvalidEvent("revenue.amount: not a finite number")
        return format(amount, "f")  # never exponent notation such as 1E+2
    if isinstance(amount, int):
        return str(amount)
    if isinstance(amount, float):
        if not math.isfinite(amount):
            raise InvalidEvent("revenue.amount: not a finite number")
        return format(Decimal(repr(amount)), "f")
    if isinstance(amount, str):
        return amount.strip()
    raise InvalidEvent("revenue.amount: expected a Decimal, str or int")


def wire_revenue(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        amount, currency = value.get("amount"), value.get("currency")
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        amount, currency = value
    else:
        raise InvalidEvent("revenue: expected {amount, currency}, (amount, currency) or Revenue")
    if amount is None or not isinstance(currency, str):
        raise InvalidEvent("revenue: needs an amount and a currency code")
    return {"amount": wire_amount(amount), "currency": currency.strip().upper()}


def wire_context(value: Any) -> dict[str, Any]:
    """The end user's context: a dict, or anything with `as_context()` (a RequestContext)."""
    if not isinstance(value, Mapping):
        as_context = getattr(value, "as_context", None)
        if not callable(as_context):
            raise InvalidEvent("context: expected a dict or a RequestContext")
        value = as_context()
    return {key: item for key, item in value.items() if item is not None}


def _json_default(value: Any) -> Any:
    """Common Python values that JSON lacks, written the way a reader of the dashboard expects."""
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, uuid.UUID):
        return str(value)
    # Anything else is written as its text rather than losing the whole event.
    return str(value)


# One encoder for every event: `json.dumps()` with options builds a new encoder at each call.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,  # NaN is not JSON: the collector would refuse the whole batch
    default=_json_default,
)
