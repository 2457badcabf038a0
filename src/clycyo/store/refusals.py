"""Events the store refuses: which load errors are the events' fault, and their quarantine entry.

Validation keeps out what no column can hold, but a value it lets through and a store refuses
(a conversion the engine cannot make, a constraint) would otherwise fail every load from then
on, and every replay after a restart. The writer asks `is_refusal` about a failed load: when the
answer is yes, it finds the refused events (`find_refused`, the store rehearsing parts of the
load: `write` with `keep` false), quarantines them with the store's error and loads the rest.
Every other error (I/O, a full disk, an engine that cannot be reached, a bug) keeps its
meaning: the load is retried as it was.

This module neither reads nor writes any store.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from clycyo.model import SERVER, Event, Rejection
from clycyo.store.clickhouse.transport import TransportError

# DuckDB's errors about values: a failed cast or an overflow (DataError), a constraint
# (IntegrityError). I/O, memory and catalog errors are other classes.
_DUCKDB: tuple[type[Exception], ...] = (duckdb.DataError, duckdb.IntegrityError)
# Errors of the writer's own conversions about a value: an Arrow cast or conversion that does not
# fit (a decimal's precision, an integer's width), arithmetic on it, text that is no Unicode.
_CONVERSION: tuple[type[Exception], ...] = (pa.ArrowInvalid, ArithmeticError, UnicodeError)
# ClickHouse's error codes about a value it was sent (not about the schema or the connection):
# CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED, CANNOT_PARSE_DATE,
# CANNOT_PARSE_DATETIME, ARGUMENT_OUT_OF_BOUND, CANNOT_PARSE_NUMBER, INCORRECT_DATA,
# VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN, DECIMAL_OVERFLOW.
_CLICKHOUSE_CODES = frozenset({6, 27, 38, 41, 69, 72, 117, 321, 349, 407})
_CLICKHOUSE_CODE = re.compile(r"\bCode: (\d+)\b")
_MAX_ERROR_CHARS = 500


def is_refusal(error: BaseException) -> bool:
    """Whether a load failed because of what some of its events hold."""
    if isinstance(error, _DUCKDB + _CONVERSION):
        return True
    if isinstance(error, TransportError):
        found = _CLICKHOUSE_CODE.search(str(error))
        return found is not None and int(found.group(1)) in _CLICKHOUSE_CODES
    return False


def find_refused(
    count: int, error: Exception, rehearse: Callable[[int, int], None]
) -> dict[int, str]:
    """The events a store refused in a load of `count` events that failed with `error`, by
    index, with the store's words: halves of the load are rehearsed (`rehearse(low, high)`
    tries events `low` to `high` and undoes them), and halves of those that fail, down to single
    events (a few dozen rehearsals for one bad event among thousands). An error that is not a
    refusal, met on the way, is raised: the load is then retried as it was."""
    found: dict[int, str] = {}

    def search(low: int, high: int, failure: Exception | None) -> None:
        if failure is None:
            try:
                rehearse(low, high)
                return
            except Exception as exc:
                if not is_refusal(exc):
                    raise
                failure = exc
        if high - low == 1:
            found[low] = reason(failure)
            return
        middle = (low + high) // 2
        search(low, middle, None)
        search(middle, high, None)

    if count:
        search(0, count, error)
    return found


def reason(error: BaseException) -> str:
    """The quarantine's reason for an event the store refused: the store's own words."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}"
    return "store refused the event: " + text[:_MAX_ERROR_CHARS]


def rejection(event: Event, error: str) -> Rejection:
    """The quarantine entry of a refused event. Its payload is the event in the collect API's
    wire format, so `clycyo quarantine replay` can send it again once the cause is fixed; the
    stored event has no field for an IP address or a user agent, so neither can be in it. The
    key the event came with is not kept: a server event is replayed as sent with the secret key,
    a browser event as sent with the public key."""
    return Rejection(
        site_id=event.site_id,
        received_us=event.received_us,
        trusted=event.origin == SERVER,
        error=error,
        payload=msgspec.json.encode(_wire(event)).decode(),
    )


def _wire(event: Event) -> dict[str, Any]:
    time = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=event.time_us)
    wire: dict[str, Any] = {
        "type": event.type,
        "event_id": event.event_id,
        "timestamp": time.isoformat(),
        "origin": event.origin,
    }
    if event.type == "event":
        wire["name"] = event.name
    optional = {
        "visitor_id": event.visitor_id,
        "user_id": event.user_id,
        "session_id": event.session_id,
        "url": event.url,
        "referrer": event.referrer,
        "title": event.title,
        "props": event.props,
        "order_id": event.order_id,
    }
    wire.update((field, value) for field, value in optional.items() if value is not None)
    if event.revenue_amount is not None:
        wire["revenue"] = {"amount": event.revenue_amount, "currency": event.revenue_currency}
    if event.traits is not None:
        wire["traits"] = msgspec.json.decode(event.traits)
    context = {"locale": event.locale, "screen": event.screen}
    if any(value is not None for value in context.values()):
        wire["context"] = {key: value for key, value in context.items() if value is not None}
    return wire
