"""The `minimize` step: the end of the IP address and the raw user agent.

It turns a `Hit` into an `Event`, a type with no field for either, so whatever comes after this
step (dedupe, the intake log, the store, the quarantine of accepted events) cannot keep them.
Props become text so the store has one value type; traits become JSON text.
"""

from __future__ import annotations

import itertools
import operator
import os

import msgspec

from clycyo.model import Event, Hit

_encode_json = msgspec.json.encode


def _text(value: str | int | float | bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value if isinstance(value, str) else str(value)


class _EventIds:
    """Ids for events sent without one: a random 64-bit prefix per process and a counter.

    Unique across processes (the prefix) and within one (the counter) at a fraction of the cost
    of 16 random bytes per event; a forked child draws a prefix of its own."""

    def __init__(self) -> None:
        self._renew()
        os.register_at_fork(after_in_child=self._renew)

    def _renew(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):08x}"


new_event_id = _EventIds()


# Every Event field is read from the Hit field of the same name, in Event's order, in one call:
# nothing is copied that Event has no field for, and the IP address and user agent have none.
_FIELDS = Event.__struct_fields__
_read = operator.attrgetter(*_FIELDS)
_EVENT_ID = _FIELDS.index("event_id")
_PROPS = _FIELDS.index("props")
_TRAITS = _FIELDS.index("traits")


def minimize(hit: Hit) -> Event:
    values = list(_read(hit))
    if values[_EVENT_ID] is None:
        values[_EVENT_ID] = new_event_id()
    props = hit.props
    if props:
        values[_PROPS] = {k: _text(v) for k, v in props.items()}
    traits = hit.traits
    if traits:
        values[_TRAITS] = _encode_json(traits).decode()
    return Event(*values)
