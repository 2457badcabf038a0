"""A `POST /api/collect` body read into events: each one decoded, or `Invalid` with its reason.

The usual body, valid throughout, is decoded in one pass (`wire.decode_valid_body`). Any other
is read part by part, so that what is wrong costs only the events it concerns (CONTRACT §2: a
body that can be read is answered `200`, with each rejected event named by its index): a field
error of a single event, a batch item that is no object, a batch's unreadable `sent_at`. Only a
body that is not JSON, not an object, or whose `batch` is not a list cannot be read at all.
This module decodes; it decides nothing about an event's meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import (
    JSON_ERRORS,
    EventIn,
    Instant,
    WireError,
    decode_event,
    decode_valid_body,
    describe,
    without_lone_surrogates,
)

_NULL = msgspec.Raw(b"null")


class _Envelope(msgspec.Struct, gc=False):
    """The top level with its parts left as JSON, each to be read on its own."""

    batch: msgspec.Raw = _NULL
    key: msgspec.Raw = _NULL
    sent_at: msgspec.Raw = _NULL


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_batch_decoder = msgspec.json.Decoder(list[msgspec.Raw] | None)
_key_decoder = msgspec.json.Decoder(Annotated[str, msgspec.Meta(max_length=100)] | None)
_sent_at_decoder = msgspec.json.Decoder(Instant | None)


@dataclass(slots=True)
class Body:
    items: list[EventIn | Invalid]
    key: str | None  # the public key at the top level (a batch's, or the single event's)
    sent_at: Instant | None  # a batch's send time; a single event carries its own


def read_body(body: bytes) -> Body:
    """The body's events; `WireError` when it cannot be read at all."""
    valid = decode_valid_body(body)
    if valid is None:
        return _read_part_by_part(body)
    if valid.batch is None:
        return Body([valid], valid.key, None)
    return Body(list(valid.batch), valid.key, valid.sent_at)


def _read_part_by_part(body: bytes) -> Body:
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.ValidationError as exc:  # not an object
        raise WireError(describe(exc)) from None
    except msgspec.DecodeError as exc:
        repaired = without_lone_surrogates(body)
        if repaired is None:
            raise WireError(describe(exc)) from None
        body = repaired
        try:
            envelope = _envelope_decoder.decode(body)
        except JSON_ERRORS as again:
            raise WireError(describe(again)) from None
    except JSON_ERRORS as exc:
        raise WireError(describe(exc)) from None
    # A key that cannot be read is no key: the request is then answered 401, not 400.
    try:
        key = _key_decoder.decode(envelope.key)
    except JSON_ERRORS:
        key = None
    try:
        raws = _batch_decoder.decode(envelope.batch)
    except JSON_ERRORS as exc:
        raise WireError(f"batch: {_reason(exc)}") from None
    if raws is None:
        single: EventIn | Invalid
        try:
            single = decode_event(body)
        except WireError as exc:
            single = Invalid(body, str(exc))
        return Body([single], key, None)
    # The batch's send time only applies to events without their own; those cannot be placed in
    # time when it is unreadable, and are rejected saying so. The others are unaffected.
    sent_at: Instant | None = None
    sent_at_error = None
    try:
        sent_at = _sent_at_decoder.decode(envelope.sent_at)
    except JSON_ERRORS as exc:
        sent_at_error = f"sent_at: {_reason(exc)} (the batch's)"
    items: list[EventIn | Invalid] = []
    for raw in raws:
        try:
            event = decode_event(raw)
        except WireError as exc:
            items.append(Invalid(bytes(raw), str(exc)))
            continue
        if sent_at_error is not None and event.sent_at is None:
            items.append(Invalid(bytes(raw), sent_at_error))
        else:
            items.append(event)
    return Body(items, key, sent_at)


def _reason(exc: Exception) -> str:
    """msgspec's message for a part decoded on its own, which names no place."""
    return describe(exc).removeprefix("body: ")
