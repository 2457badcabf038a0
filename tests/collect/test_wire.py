"""The wire format's error messages: the field first, then msgspec's reason, read as a sentence."""

from __future__ import annotations

import msgspec
import pytest

from clycyo.collect import limits
from clycyo.collect.body import read_body
from clycyo.collect.formats.shape import checked
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import (
    EventIn,
    WireError,
    decode_event,
    decode_valid_body,
    without_lone_surrogates,
)


def error_of(body: bytes) -> str:
    """Why the body cannot be read, or why its single event is rejected."""
    try:
        read = read_body(body)
    except WireError as exc:
        return str(exc)
    [item] = read.items
    assert isinstance(item, Invalid)
    return item.error


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{nope", "body: JSON is malformed: object keys must be strings (byte 1)"),
        (b'{"name": "x"} !', "body: JSON is malformed: trailing characters (byte 15)"),
        (b'{"name": "x"', "body: input data was truncated"),
        (b"[]", "body: expected object, got array"),
        (b'{"name": 1}', "name: expected str | null, got int"),
        (b'{"type": "view"}', "type: invalid enum value 'view'"),
    ],
)
def test_messages_read_as_sentences(body: bytes, error: str) -> None:
    assert error_of(body) == error


def test_props_errors_name_the_key() -> None:
    long_value = "x" * (limits.MAX_PROP_VALUE_CHARS + 1)
    assert error_of(b'{"props": {"a": 1, "plan": "%s"}}' % long_value.encode()) == (
        f"props.plan: expected str of length <= {limits.MAX_PROP_VALUE_CHARS}"
    )
    assert error_of(b'{"props": {"a.b": null}}') == (
        'props["a.b"]: expected bool | int | float | str, got null'
    )
    assert error_of(b'{"props": {"": 1}}') == 'props[""]: key expected str of length >= 1'
    assert error_of(b'{"props": 3}') == "props: expected object | null, got int"


def test_batch_items_and_foreign_formats_name_the_key_too() -> None:
    assert str(_raised(b'{"props": {"plan": {"tier": 1}}}')) == (
        "props.plan: expected bool | int | float | str, got object"
    )
    bad = checked({"name": "x", "traits": {f"t{i}": i for i in range(limits.MAX_PROPS + 1)}})
    assert isinstance(bad, Invalid)
    assert bad.error == f"traits.t{limits.MAX_PROPS}: more than {limits.MAX_PROPS} keys in traits"


def _raised(raw: bytes) -> WireError:
    with pytest.raises(WireError) as raised:
        decode_event(raw)
    return raised.value


def test_a_valid_batch_decodes_in_one_pass_like_event_by_event() -> None:
    body = (
        b'{"sent_at": 1764000000000, "batch": [{"type": "pageview", "url": "https://a.test/",'
        b' "props": {"n": 1}}, {"name": "signup", "user_id": 7, "revenue": {"amount": "9.5",'
        b' "currency": "eur"}}]}'
    )
    whole = decode_valid_body(body)
    assert whole is not None and whole.batch is not None
    events = msgspec.json.decode(body)["batch"]
    assert whole.batch == [decode_event(msgspec.json.encode(event)) for event in events]
    assert whole.sent_at == 1764000000000


@pytest.mark.parametrize(
    "body",
    [
        b'{"batch": [{"name": "ok"}, {"name": 1}]}',  # one bad event: said event by event
        b'{"batch": [{"name": "ok"}] !',
        b'{"name": 1}',
    ],
)
def test_a_body_with_anything_invalid_is_left_to_the_careful_decoders(body: bytes) -> None:
    assert decode_valid_body(body) is None


def test_a_single_event_with_a_field_error_is_read_and_rejected_alone() -> None:
    read = read_body(b'{"key": "pk_1", "name": 5}')
    assert read.key == "pk_1"
    assert read.items == [
        Invalid(b'{"key": "pk_1", "name": 5}', "name: expected str | null, got int")
    ]
    # A key that cannot be read is no key (the request is then a 401), not an unreadable body.
    assert read_body(b'{"key": 5, "name": "x"}').key is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"batch": 5}', "batch: expected array | null, got int"),
        (b'{"batch": [{"name": "x"}', "body: input data was truncated"),
        (b"[]", "body: expected object, got array"),
    ],
)
def test_only_a_body_that_cannot_be_read_at_all_is_refused(body: bytes, error: str) -> None:
    with pytest.raises(WireError) as raised:
        read_body(body)
    assert str(raised.value) == error


def test_batch_items_that_are_no_object_are_rejected_one_by_one() -> None:
    read = read_body(b'{"batch": [{"name": "ok"}, 5, "x", null, [], {"name": "ok2"}]}')
    assert [item.error if isinstance(item, Invalid) else item.name for item in read.items] == [
        "ok",
        "expected an object, got int",
        "expected an object, got str",
        "expected an object, got null",
        "expected an object, got array",
        "ok2",
    ]


def test_an_unreadable_batch_sent_at_rejects_the_events_that_need_it() -> None:
    read = read_body(
        b'{"sent_at": "yesterday", "batch": [{"name": "a", "timestamp": 1764000000000},'
        b' {"name": "b", "sent_at": 1764000000000}]}'
    )
    first, second = read.items
    assert isinstance(first, Invalid)
    assert first.error == "sent_at: invalid RFC3339 encoded datetime (the batch's)"
    assert first.raw == b'{"name": "a", "timestamp": 1764000000000}'
    assert isinstance(second, EventIn) and second.name == "b"
    assert read.sent_at is None


@pytest.mark.parametrize(
    ("body", "repaired"),
    [
        (rb'{"t": "abc\ud83d"}', rb'{"t": "abc\ufffd"}'),
        (rb'{"t": "\udc00abc"}', rb'{"t": "\ufffdabc"}'),
        (rb'{"t": "\uD83D\uD83D\uDE00\uDE00"}', rb'{"t": "\ufffd\uD83D\uDE00\ufffd"}'),
        (rb'{"t": "\\\ud83d"}', rb'{"t": "\\\ufffd"}'),  # an escaped backslash, then one
        (rb'{"t": "\ud83d\ude00 \\ud83d \n"}', None),  # a pair; text that looks like one
    ],
)
def test_lone_surrogate_escapes_become_the_replacement_character(
    body: bytes, repaired: bytes | None
) -> None:
    assert without_lone_surrogates(body) == repaired


def test_a_lone_surrogate_costs_no_event() -> None:
    body = (
        b'{"key": "pk_1", "batch": [{"name": "ok1"}, {"name": "t", "title": "abc\\ud83d"},'
        b' {"name": "u", "title": "\\udc00abc"}, {"name": "ok2", "title": "\\ud83d\\ude00"}]}'
    )
    read = read_body(body)
    assert read.key == "pk_1"
    assert [(e.name, e.title) for e in read.items if isinstance(e, EventIn)] == [
        ("ok1", None),
        ("t", "abc\ufffd"),
        ("u", "\ufffdabc"),
        ("ok2", "\U0001f600"),
    ]
    # Still refused for what else is wrong, with the offset in the body as sent.
    assert error_of(b'{"name": "\\ud83d", "x": nope}') == error_of(
        b'{"name": "\\ufffd", "x": nope}'
    )
    assert error_of(b'{"name": "\\ud83d", "x": nope}').startswith("body: JSON is malformed")


def test_invalid_utf8_names_the_field_and_the_byte() -> None:
    assert str(_raised(b'{"name": "x", "title": "ab\xffc"}')) == (
        "title: not valid UTF-8 (byte 26 of the event)"
    )
    assert str(_raised(b'{"name": "x", "props": {"a.b": "\xfe"}}')) == (
        'props["a.b"]: not valid UTF-8 (byte 32 of the event)'
    )
    assert str(_raised(b'{"name": "x", "context": {"user_agent": "\xc3("}}')) == (
        "context.user_agent: not valid UTF-8 (byte 41 of the event)"
    )
