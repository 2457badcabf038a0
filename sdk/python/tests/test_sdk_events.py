"""The wire shape: what track() queues becomes CONTRACT §2 JSON in the consumer."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest

from clycyo_sdk import RequestContext, Revenue
from clycyo_sdk.events import InvalidEvent, encode, finalize, wire_amount, wire_time


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "event", "name": "signup", "timestamp": None}
    base.update(fields)
    return base


def test_finalize_drops_nones_and_stamps_a_uuid4_event_id() -> None:
    wire = finalize(event(user_id=None, props=None))
    assert set(wire) == {"type", "name", "event_id"}
    assert uuid.UUID(hex=wire["event_id"]).version == 4
    assert len(wire["event_id"]) == 32


def test_a_given_event_id_is_kept() -> None:
    assert finalize(event(event_id="evt_1"))["event_id"] == "evt_1"


def test_ids_given_as_ints_are_sent_as_text() -> None:
    wire = finalize(event(user_id=42, order_id=7, visitor_id=3))
    assert (wire["user_id"], wire["order_id"], wire["visitor_id"]) == ("42", "7", "3")


@pytest.mark.parametrize(
    ("revenue", "expected"),
    [
        ({"amount": "49.00", "currency": "EUR"}, {"amount": "49.00", "currency": "EUR"}),
        (("49.00", "eur"), {"amount": "49.00", "currency": "EUR"}),
        (Revenue(Decimal("49.00"), "EUR"), {"amount": "49.00", "currency": "EUR"}),
        (Revenue(Decimal("1E+2"), "USD"), {"amount": "100", "currency": "USD"}),
        (Revenue(4900, "JPY"), {"amount": "4900", "currency": "JPY"}),
        (Revenue(-12.5, "EUR"), {"amount": "-12.5", "currency": "EUR"}),
        (Revenue(0.1, "EUR"), {"amount": "0.1", "currency": "EUR"}),
    ],
)
def test_revenue_shapes_and_amounts_as_exact_text(revenue: Any, expected: dict[str, str]) -> None:
    assert finalize(event(revenue=revenue))["revenue"] == expected


@pytest.mark.parametrize(
    "revenue",
    [("49.00",), {"amount": "1"}, (True, "EUR"), (Decimal("NaN"), "EUR"), (math.inf, "EUR"), 5],
)
def test_bad_revenue_is_invalid(revenue: Any) -> None:
    with pytest.raises(InvalidEvent, match="revenue"):
        finalize(event(revenue=revenue))


def test_amount_never_leaves_as_a_float() -> None:
    body = encode(finalize(event(revenue=(Decimal("19.99"), "EUR"))))
    assert b'"amount":"19.99"' in body


def test_times_become_epoch_milliseconds() -> None:
    assert wire_time(1_700_000_000.25) == 1_700_000_000_250  # seconds, as time.time()
    assert wire_time(1_700_000_000_250) == 1_700_000_000_250  # already milliseconds
    assert wire_time(1_700_000_000.123456) == pytest.approx(1_700_000_000_123.456, abs=0.002)
    aware = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
    assert wire_time(aware) == int(aware.timestamp() * 1000)
    assert wire_time("2026-11-26T12:00:00Z") == "2026-11-26T12:00:00Z"


@pytest.mark.parametrize("value", [True, math.nan, object()])
def test_bad_times_are_invalid(value: Any) -> None:
    with pytest.raises(InvalidEvent, match="timestamp"):
        wire_time(value)


def test_wire_amount_strips_text() -> None:
    assert wire_amount(" 49.00 ") == "49.00"


def test_context_from_a_request_context_or_a_dict() -> None:
    found = RequestContext(visitor_id="v1", ip="203.0.113.9", user_agent="UA", locale=None)
    assert finalize(event(context=found))["context"] == {"ip": "203.0.113.9", "user_agent": "UA"}
    assert finalize(event(context={"ip": "1.2.3.4", "screen": None}))["context"] == {
        "ip": "1.2.3.4"
    }
    assert "context" not in finalize(event(context=RequestContext()))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"props": ["a"]}, "props"),
        ({"context": 5}, "context"),
    ],
)
def test_invalid_fields_are_named(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEvent, match=field):
        finalize(event(**fields))


def test_identify_needs_a_user_id() -> None:
    with pytest.raises(InvalidEvent, match="user_id"):
        finalize({"type": "identify", "visitor_id": "v", "user_id": None})


def test_identify_and_pageview_need_no_name() -> None:
    assert finalize({"type": "identify", "user_id": "u"})["type"] == "identify"
    assert finalize({"type": "pageview", "url": "https://x.test/"})["type"] == "pageview"


def test_encode_is_compact_json_with_python_values_made_plain() -> None:
    wire = finalize(
        event(
            props={
                "price": Decimal("9.90"),
                "day": dt.date(2026, 11, 26),
                "id": uuid.UUID(int=1),
                "other": object,
            }
        )
    )
    decoded = json.loads(encode(wire))
    assert decoded["props"]["price"] == "9.90"
    assert decoded["props"]["day"] == "2026-11-26"
    assert decoded["props"]["id"] == "00000000-0000-0000-0000-000000000001"
    assert decoded["props"]["other"] == "<class 'object'>"


def test_nan_is_refused_rather_than_breaking_the_batch() -> None:
    with pytest.raises(InvalidEvent, match="NaN"):
        encode(finalize(event(props={"x": math.nan})))


def test_a_lone_surrogate_cannot_make_the_body_invalid_utf8() -> None:
    body = encode(finalize(event(props={"x": "a\ud800b"})))
    assert json.loads(body.decode("utf-8"))["props"]["x"] == "a?b"
