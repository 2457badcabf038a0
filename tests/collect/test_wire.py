"""The wire format's error messages: the field first, then msgspec's reason, read as a sentence."""

from __future__ import annotations

import pytest

from clycyo.collect import limits
from clycyo.collect.formats.shape import checked
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import WireError, decode_body, decode_event, decode_valid_body


def error_of(body: bytes) -> str:
    with pytest.raises(WireError) as raised:
        decode_body(body)
    return str(raised.value)


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
    envelope = decode_body(body)
    assert envelope.batch is not None
    assert whole.batch == [decode_event(raw) for raw in envelope.batch]
    assert whole.sent_at == envelope.sent_at


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
