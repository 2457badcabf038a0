"""Rows of a `clycyo export` file back into stored `Event`s, checked as the collect API checks.

An exported row is an event as it was stored: already minimized (no IP address, no user agent)
and already enriched (source, channel, geography, device), so it is not run through the
pipeline again, which would derive them anew from nothing. It is checked instead: the sizes
`collect/limits.py` allows, the closed sets (type, origin), a time that can be stored, and the
rules of the `validate` step that need more than one field (a pageview's URL, an identify's user
id, money). A row that fails names its field and why; the others become events of the site
the import is for. `visit_id` is not read: the writer derives visits again, as for any event.

This module reads Arrow batches (Parquet's own types, or CSV read as text) and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from clycyo.collect import limits
from clycyo.file_errors import unreadable
from clycyo.model import BROWSER, SERVER, Drop, Event, Hit
from clycyo.pipeline.context import Context
from clycyo.pipeline.salts import SaltRing
from clycyo.pipeline.validate import validate
from clycyo.store.export import EXPORT_COLUMNS

FORMATS = ("parquet", "csv")
# Rows handed over at a time: the writer's largest load, so each part is stored in one; the
# parts of a 10-million-row file are read one after another, never the whole file at once.
PART_ROWS = 25_000
REQUIRED = ("event_id", "time", "origin", "type", "name")
_IGNORED = frozenset({"visit_id"})  # derived again by the writer
_IDS = frozenset({"event_id", "visitor_id", "user_id", "session_id", "order_id"})
_LONGEST = {
    **dict.fromkeys(_IDS, limits.MAX_ID_CHARS),
    "name": limits.MAX_NAME_CHARS,
    "url": limits.MAX_URL_CHARS,
    "referrer": limits.MAX_URL_CHARS,
    "page": limits.MAX_URL_CHARS,
}
_TIMES = {"time": "time_us", "received_at": "received_us"}
_TYPES = frozenset({"pageview", "event", "identify"})
_KINDS = frozenset({"cookie", "hash"})
_EARLIEST_US = 946_684_800_000_000  # 2000-01-01, as collect's `validate`
_FUTURE_SLACK_US = 5 * 60 * 1_000_000  # another machine's clock may run a little ahead
_EPOCH = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)
_CHECKS = Context(salts=SaltRing())  # `validate` consults nothing of it


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not an export, unreadable)."""


class InvalidRow(ValueError):
    """One row cannot be imported; the message names the field and why."""


def format_of(path: Path, given: str | None) -> str:
    """`given`, else the file's extension (`.parquet`, `.csv`)."""
    if given is not None:
        return given
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ImportFileError(
            f"{path.name}: cannot tell the format from the extension;"
            " give --format parquet or --format csv"
        )
    return kind


def check_readable(path: Path) -> None:
    """Refuse, in one line naming it, a file that is not there or cannot be read: before Arrow,
    whose own messages name its internals."""
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ImportFileError(unreadable(path, exc)) from None


def read_file(path: Path, kind: str) -> tuple[int | None, Iterator[pa.RecordBatch]]:
    """The file's rows (None when unknown before reading: CSV) and its batches. Parquet keeps
    its types; CSV is read as text, an empty field as no value and `""` as an empty text, as
    `clycyo export` writes them. Raises `ImportFileError`, naming the file, for a file that
    cannot be read or is not an export."""
    check_readable(path)
    try:
        if kind == "parquet":
            parquet = pq.ParquetFile(path)
            _check_columns_of(path, parquet.schema_arrow.names)
            batches = parquet.iter_batches(batch_size=PART_ROWS)
            return parquet.metadata.num_rows, _batches(batches.__next__, path)
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=4 << 20),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(EXPORT_COLUMNS, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException as exc:
        # Arrow's message may run over several lines; its first says what is wrong.
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFileError(f"{path.name}: not a {_NAMES[kind]} file ({detail})") from None
    _check_columns_of(path, reader.schema.names)
    return None, _batches(reader.read_next_batch, path)


_NAMES = {"parquet": "Parquet", "csv": "CSV"}


def _check_columns_of(path: Path, names: list[str]) -> None:
    try:
        check_columns(names)
    except ImportFileError as exc:
        raise ImportFileError(f"{path.name}: {exc}") from None


def _batches(next_batch: Callable[[], pa.RecordBatch], path: Path) -> Iterator[pa.RecordBatch]:
    """The file's batches; a part Arrow cannot read stops them with an `ImportFileError`."""
    while True:
        try:
            yield next_batch()
        except StopIteration:
            return
        except pa.ArrowException as exc:
            raise ImportFileError(f"{path.name}: {exc}") from None


def check_columns(names: list[str]) -> None:
    """Refuse a file that is not an export: a required column missing, or one export never has."""
    unknown = [name for name in names if name not in EXPORT_COLUMNS]
    if unknown:
        name = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
        raise ImportFileError(
            f"column {name!r}: not a column of clycyo export's files ({', '.join(EXPORT_COLUMNS)})"
        )
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ImportFileError(f"column {missing[0]!r}: missing (needed: {', '.join(REQUIRED)})")


def events_of(
    batch: pa.RecordBatch, site_id: int, first_row: int, now_us: int
) -> tuple[list[Event], list[tuple[int, str]]]:
    """The batch's rows as events of `site_id`, and the invalid ones as (row number, error):
    rows are numbered from 1, the batch's first being `first_row`.

    Column by column first (a text column whose every value Arrow finds within its size needs no
    look at each value; props, traits, amounts and CSV's times are read value by value), then row
    by row for the rules over several fields. A row that any of this doubts, and every row with
    money, goes through `event_of`, whose verdict and message are the reference; a row the fast
    way takes becomes the very event `event_of` would make."""
    check_columns(batch.schema.names)
    raw: dict[str, list[Any]] = {}
    read: dict[str, list[Any]] = {}
    doubtful = [False] * batch.num_rows
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name in _IGNORED:
            continue
        if pa.types.is_timestamp(column.type):
            raw[name] = read[name] = column.cast(pa.timestamp("us")).view(pa.int64()).to_pylist()
        elif name not in _READERS and _within_limits(name, column):
            raw[name] = read[name] = column.to_pylist()
        else:
            raw[name] = column.to_pylist()
            read[name] = _read_each(name, raw[name], doubtful)
    rows = batch.num_rows
    none = [None] * rows
    times = read["time"]
    received = [r or t for r, t in zip(read.get("received_at", none), times, strict=True)]
    ordered = [read.get(_FIELD_COLUMNS.get(f, f), none) for f in Event.__struct_fields__[4:]]
    ordered[0:0] = [read["event_id"], times, received]
    latest_us = now_us + _FUTURE_SLACK_US
    rules: dict[tuple[Any, ...], bool] = {}
    events: list[Event] = []
    invalid: list[tuple[int, str]] = []
    for index, values in enumerate(zip(*ordered, strict=True)):
        event_id, time_us, received_us, origin, kind, name, _, visitor_kind, user_id = values[:9]
        url, order_id = values[_URL], values[_ORDER]
        amount, currency = values[_AMOUNT], values[_AMOUNT + 1]
        # A row in doubt, with money, or failing a rule that spans fields goes through
        # `event_of`, which names what is wrong.
        checked = not (
            doubtful[index]
            or event_id is None
            or time_us is None
            or origin not in _ORIGINS
            or kind not in _TYPES
            or name is None
            or time_us < _EARLIEST_US
            or received_us > latest_us
            or time_us > received_us
            or visitor_kind not in _VISITOR_KINDS
            or amount is not None
            or currency is not None
        )
        if checked:
            key = (kind, bool(name), bool(user_id), url, order_id is None)
            passes = rules.get(key)
            if passes is None:
                passes = rules[key] = _passes_rules(
                    kind, name, user_id, url, order_id, at_us=received_us
                )
            checked = passes
        if not checked:
            row = {column: found[index] for column, found in raw.items()}
            try:
                events.append(event_of(row, site_id, now_us))
            except InvalidRow as exc:
                invalid.append((first_row + index, str(exc)))
            continue
        events.append(Event(site_id, *values))
    return events, invalid


# The event's fields that a column of another name holds.
_FIELD_COLUMNS = {"time_us": "time", "received_us": "received_at"}
_ORIGINS = frozenset({BROWSER, SERVER})
_VISITOR_KINDS = frozenset({None, *_KINDS})
_FIELDS = Event.__struct_fields__[1:]  # as `events_of` orders a row's values
_URL = _FIELDS.index("url")
_AMOUNT = _FIELDS.index("revenue_amount")
_ORDER = _FIELDS.index("order_id")


def _within_limits(name: str, column: pa.Array) -> bool:
    """Whether every value of a text column is one `_text` keeps as it is."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    if column.null_count == len(column):
        return True
    lengths = pc.utf8_length(column)
    if pc.max(lengths).as_py() > _LONGEST.get(name, limits.MAX_TEXT_CHARS):
        return False
    return name not in _IDS or pc.min(lengths).as_py() > 0


def _read_each(name: str, values: list[Any], doubtful: list[bool]) -> list[Any]:
    """`values` as `event_of` reads them; a value it refuses is marked doubtful, for `event_of`
    to name."""
    read: Callable[[str, Any], Any] = _READERS.get(name, _text)
    found: list[Any] = []
    for index, value in enumerate(values):
        try:
            found.append(read(name, value))
        except InvalidRow:
            found.append(None)
            doubtful[index] = True
    return found


def _passes_rules(
    kind: str, name: str, user_id: str | None, url: str | None, order_id: str | None, *, at_us: int
) -> bool:
    """`_check_rules` for an event without money whose times were checked already: only its
    type, name, user id, URL and order id matter to it."""
    values = {"origin": SERVER, "received_us": at_us, "time_us": at_us, "type": kind}
    values.update(name=name, user_id=user_id, url=url, order_id=order_id)
    try:
        _check_rules(values, 0)
    except InvalidRow:
        return False
    return True


def event_of(row: dict[str, Any], site_id: int, now_us: int) -> Event:
    """One row as an event of `site_id` (raises `InvalidRow`)."""
    values: dict[str, Any] = {}
    for name, value in row.items():
        if name in _TIMES:
            values[_TIMES[name]] = _time(name, value)
        elif name == "props":
            values[name] = _props(value)
        elif name == "traits":
            values[name] = _traits(value)
        elif name == "revenue_amount":
            values[name] = None if value is None else _amount(value)
        else:
            values[name] = _text(name, value)
    for name in REQUIRED:
        if values.get(_TIMES.get(name, name)) is None:
            raise InvalidRow(f"{name}: missing")
    time_us = values["time_us"]
    received_us = values.get("received_us") or time_us
    values["received_us"] = received_us
    if time_us < _EARLIEST_US:
        raise InvalidRow("time: before the year 2000")
    if received_us > now_us + _FUTURE_SLACK_US:
        raise InvalidRow("received_at: in the future")
    if time_us > received_us:
        raise InvalidRow("time: after received_at (a stored event's time never is)")
    if values["type"] not in _TYPES:
        raise InvalidRow("type: expected pageview, event or identify")
    if values["origin"] not in (BROWSER, SERVER):
        raise InvalidRow("origin: expected browser or server")
    if values.get("visitor_kind") not in (None, *_KINDS):
        raise InvalidRow("visitor_kind: expected cookie or hash")
    _check_rules(values, site_id)
    return Event(site_id=site_id, **values)


def _check_rules(values: dict[str, Any], site_id: int) -> None:
    """The `validate` step's rules over several fields, and its form of the amount."""
    hit = Hit(
        site_id=site_id,
        trusted=True,
        origin=values["origin"],
        received_us=values["received_us"],
        type=values["type"],
        name=values["name"],
        user_id=values.get("user_id"),
        timestamp_us=values["time_us"],
        url=values.get("url"),
        revenue_amount=values.get("revenue_amount"),
        revenue_currency=values.get("revenue_currency"),
        order_id=values.get("order_id"),
    )
    checked = validate(hit, _CHECKS)
    if isinstance(checked, Drop):
        raise InvalidRow(checked.detail)
    if values.get("revenue_amount") is not None:
        values["revenue_amount"] = checked.revenue_amount
    elif values.get("revenue_currency") is not None:
        raise InvalidRow("revenue_currency: without revenue_amount")


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif name in _IDS and isinstance(value, int) and not isinstance(value, bool):
        text = str(value)  # ids may be numbers, as the collect API takes them
    else:
        raise InvalidRow(f"{name}: expected text, not {type(value).__name__}")
    longest = _LONGEST.get(name, limits.MAX_TEXT_CHARS)
    if len(text) > longest:
        raise InvalidRow(f"{name}: longer than {longest} characters")
    if name in _IDS and not text:
        raise InvalidRow(f"{name}: empty")
    return text


def _time(name: str, value: Any) -> int | None:
    """Microseconds since the epoch: Parquet's timestamps come as such (see `events_of`), CSV's
    as text (`2026-11-01 10:00:00.123456`, or RFC 3339; without an offset, UTC)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidRow(f"{name}: not a time ({value[:40]!r})") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return (moment - _EPOCH) // _US
    raise InvalidRow(f"{name}: not a time")


def _amount(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str) and len(value) <= 40:
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    raise InvalidRow("revenue_amount: not a decimal number")


def _object(name: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidRow(f"{name}: not a JSON object") from None
    if isinstance(value, list) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        value = dict(value)  # a map column, as Parquet may carry one
    if not isinstance(value, dict):
        raise InvalidRow(f"{name}: not a JSON object")
    if len(value) > limits.MAX_PROPS:
        raise InvalidRow(f"{name}: more than {limits.MAX_PROPS} keys")
    for key in value:
        if not isinstance(key, str) or not 1 <= len(key) <= limits.MAX_PROP_KEY_CHARS:
            raise InvalidRow(f"{name}: a key of 1 to {limits.MAX_PROP_KEY_CHARS} characters")
    return value


def _props(value: Any) -> dict[str, str] | None:
    found = _object("props", value)
    if not found:
        return None
    props = {}
    for key, item in found.items():
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, int | float):
            text = str(item)
        elif isinstance(item, str):
            text = item
        else:
            raise InvalidRow(f"props.{key[:40]}: expected text, a number or a boolean")
        if len(text) > limits.MAX_PROP_VALUE_CHARS:
            raise InvalidRow(
                f"props.{key[:40]}: longer than {limits.MAX_PROP_VALUE_CHARS} characters"
            )
        props[key] = text
    return props


def _traits(value: Any) -> str | None:
    found = _object("traits", value)
    if not found:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(found)


# How `_read_each` reads a column that is not plain text (`_text` reads those).
_READERS: dict[str, Callable[[str, Any], Any]] = {
    "time": _time,
    "received_at": _time,
    "props": lambda _, value: _props(value),
    "traits": lambda _, value: _traits(value),
    "revenue_amount": lambda _, value: None if value is None else _amount(value),
}
