"""Fitting foreign events into Clycyo's wire shape: flat props, bounded traits, checked events.

Other clients send nested properties, nulls and more keys than Clycyo keeps. The rule, the same
for every format and documented in `docs/migrating.md`: null values are dropped; strings longer
than the value limit are cut to it; nested objects and arrays become their compact JSON text
(dropped when that is longer than the limit); keys that are empty or too long are dropped; past
`MAX_PROPS` keys the rest are dropped, in the order sent. A field the format defines (an id, a
name, a URL, an object of them) sent with another type rejects the event, naming the field as the
client sent it. An event is then checked by converting it to `EventIn`, so a foreign event breaks
the same rules, with the same messages, as our own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from clycyo.collect import limits
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import EventIn, Instant, describe

Scalar = str | int | float | bool

_encode = msgspec.json.encode


def _scalar(value: object) -> Scalar | None:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[: limits.MAX_PROP_VALUE_CHARS]
    if value is None:
        return None
    try:
        text = _encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return None
    return text if len(text) <= limits.MAX_PROP_VALUE_CHARS else None


def _usable_key(key: object) -> bool:
    return isinstance(key, str) and 0 < len(key) <= limits.MAX_PROP_KEY_CHARS


def flat_props(
    values: object, skip: Iterable[str] = (), skip_prefix: str = ""
) -> dict[str, Scalar]:
    """Foreign properties as Clycyo props (see the module's rule); {} for a non-object."""
    if not isinstance(values, Mapping):
        return {}
    skipped = frozenset(skip)
    props: dict[str, Scalar] = {}
    for key, value in values.items():
        if not _usable_key(key) or key in skipped:
            continue
        if skip_prefix and key.startswith(skip_prefix):
            continue
        scalar = _scalar(value)
        if scalar is not None:
            props[key] = scalar
            if len(props) == limits.MAX_PROPS:
                break
    return props


def bounded_traits(values: object) -> dict[str, Any] | None:
    """Traits as sent, minus null values and beyond `MAX_PROPS` keys; None when empty."""
    if not isinstance(values, Mapping):
        return None
    traits: dict[str, Any] = {}
    for key, value in values.items():
        if _usable_key(key) and value is not None:
            traits[key] = value
            if len(traits) == limits.MAX_PROPS:
                break
    return traits or None


def text(value: object) -> str | None:
    """An id or a name as text: clients send numbers for ids; empty means absent."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def instant(value: object) -> Instant | None:
    """A send time as sent (RFC 3339 text or epoch milliseconds); None when unreadable, since
    a batch's send time only refines the clock-skew correction."""
    if value is None:
        return None
    try:
        converted: Instant = msgspec.convert(value, Instant)
    except msgspec.ValidationError:
        return None
    return converted


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class FieldError(ValueError):
    """A field of the format sent with a type it cannot have; the message names the field."""


def json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def text_field(holder: Mapping[str, Any], key: str, name: str | None = None) -> str | None:
    """`holder[key]` as `text`; `FieldError` naming it (`name`, else `key`) when it is there and
    neither text nor a number."""
    value = holder.get(key)
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise FieldError(f"{name or key}: expected a string or a number, got {json_kind(value)}")


def object_field(holder: Mapping[str, Any], key: str, name: str | None = None) -> Mapping[str, Any]:
    """`holder[key]` when it is an object, {} when absent or null; `FieldError` otherwise."""
    value = holder.get(key)
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    raise FieldError(f"{name or key}: expected an object, got {json_kind(value)}")


def amount_field(holder: Mapping[str, Any], key: str, name: str) -> str | int | float | None:
    """A money amount as sent (text or a number, checked later as a decimal); `FieldError` for
    another type."""
    value = holder.get(key)
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise FieldError(f"{name}: expected a number or a decimal string, got {json_kind(value)}")


def checked(event: dict[str, Any]) -> EventIn | Invalid:
    """The event as an `EventIn`, or `Invalid` naming the field that breaks a wire rule."""
    fields = {key: value for key, value in event.items() if value is not None}
    try:
        return msgspec.convert(fields, EventIn)
    except msgspec.ValidationError as exc:
        return Invalid(_encode(fields), describe(exc, fields))
