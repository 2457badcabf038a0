"""The wire format's error messages: the field first, then msgspec's reason, read as a sentence."""

from __future__ import annotations

import pytest

from clycyo.collect import limits
from clycyo.collect.formats.shape import checked
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import WireError, decode_body, decode_event


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
