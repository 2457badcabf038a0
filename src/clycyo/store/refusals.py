"""Events a load fails on: which load errors are the events' fault, and their quarantine entry.

Validation keeps out what no column can hold, but a value it lets through and a store refuses
(a conversion the engine cannot make, a constraint) would otherwise fail every load from then
on, and every replay after a restart. The writer asks `is_refusal` about a failed load: when the
answer is yes, the load is narrowed (`narrowing.py`, the store rehearsing parts of the load:
`write` with `keep` false) to the refused events, which go to the quarantine with the store's
error (`reason`, `rejection`), and the rest is loaded.

The same holds for a bug in the writer's own work on a load before the store is written
(dedupe, the deriver, the Arrow conversion) that one event sets off: the writer raises it as
an `InternalError` (`internal_error` says which errors are such), and when a load fails that
way twice in a row it is narrowed to the events that set it off, that work alone run on parts
of the load. Every other error (I/O, a full disk, an engine that cannot be reached or that is
out of memory) keeps its meaning: the load is retried as it was.

This module neither reads nor writes any store, and does not choose the parts tried.
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
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
INTERNAL_REASON = "internal error: "  # how the reason of an `InternalError`'s event begins
REFUSED_REASON = "store refused the event: "  # and that of an event the store refused
# Errors that say nothing about the events a load holds, wherever they are raised: the disk, the
# engine (DuckDB's own errors, ClickHouse's through its transport) or the process's memory.
_NOT_THE_EVENTS: tuple[type[BaseException], ...] = (
    OSError,
    MemoryError,
    duckdb.Error,
    TransportError,
)


class InternalError(Exception):
    """The writer's own work on a load, before the store is written, failed: a bug some event
    sets off. The error it met is the cause (`__cause__`)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause

    def where(self) -> tuple[str, str, int]:
        """The cause's type and the place it was raised from (file and line): a bug met again
        is raised from the same place, whatever its message says."""
        frames = traceback.extract_tb(self.cause.__traceback__)
        last = frames[-1] if frames else None
        return (
            type(self.cause).__name__,
            last.filename if last else "",
            (last.lineno or 0) if last else 0,
        )


def is_refusal(error: BaseException) -> bool:
    """Whether a load failed because of what some of its events hold."""
    if isinstance(error, _DUCKDB + _CONVERSION):
        return True
    if isinstance(error, TransportError):
        found = _CLICKHOUSE_CODE.search(str(error))
        return found is not None and int(found.group(1)) in _CLICKHOUSE_CODES
    return False


def internal_error(error: Exception) -> InternalError | None:
    """`error`, raised by the writer's own work on a load before the store is written, as an
    `InternalError`; None when it is a refusal (see `is_refusal`) or says nothing about the
    events (I/O, the engine, memory: the load is retried as it was)."""
    if isinstance(error, (InternalError, *_NOT_THE_EVENTS)) or is_refusal(error):
        return None
    return InternalError(error)


def is_event_fault(error: BaseException) -> bool:
    """Whether a part of a load failed because of some of its events: refused by the store, or
    setting off a bug in the writer's work."""
    return isinstance(error, InternalError) or is_refusal(error)


def reason(error: BaseException) -> str:
    """The quarantine's reason for an event at fault: the store's own words for a refusal, the
    error met for an `InternalError` (an `Event` holds no address, so neither can quote one)."""
    if isinstance(error, InternalError):
        cause = error.cause
        lines = str(cause).strip().splitlines()
        text = f"{type(cause).__name__}: {lines[0] if lines else ''}"
        return INTERNAL_REASON + text[:_MAX_ERROR_CHARS]
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}"
    return REFUSED_REASON + text[:_MAX_ERROR_CHARS]


def accepted_first(error: str) -> bool:
    """Whether a quarantine entry's reason (`error`) is the writer's: its event was accepted
    on arrival (the pipeline remembers its id and its order) and quarantined by the writer,
    never stored."""
    return error.startswith((INTERNAL_REASON, REFUSED_REASON))


def rejection(event: Event, error: str) -> Rejection:
    """The quarantine entry of a refused event. Its payload is the event in the collect API's
    wire format, so `clycyo quarantine replay` can send it again once the cause is fixed; the
    stored event has no field for an IP address or a user agent, so neither can be in it. The
    key the event came with is not kept: a server event is replayed as sent with the secret key,
    a browser event as sent with the public key."""
    try:
        payload = msgspec.json.encode(_wire(event)).decode()
    except Exception as exc:
        # An event the writer fails on may be one no code path expects (a field of another
        # type, a time out of range): its entry must not fail in turn, or the load would be
        # retried for ever after all.
        payload = f"(not kept: the event could not be written out: {type(exc).__name__})"
    return Rejection(
        site_id=event.site_id,
        received_us=event.received_us,
        trusted=event.origin == SERVER,
        error=error,
        payload=payload,
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
