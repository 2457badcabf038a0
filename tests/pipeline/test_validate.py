from __future__ import annotations

import pytest

from clycyo.model import Drop, DropReason, Hit
from clycyo.pipeline.validate import validate
from tests.pipeline.factories import NOW_US, make_context, make_hit

HOUR_US = 3_600_000_000


def rejected(hit: Hit) -> str:
    result = validate(hit, make_context())
    assert isinstance(result, Drop)
    assert result.reason is DropReason.INVALID
    return result.detail


def test_event_needs_a_name() -> None:
    assert rejected(make_hit(type="event", name="")) == "name: required for an event"


def test_identify_needs_a_user_id() -> None:
    assert rejected(make_hit(type="identify", name="identify")) == "user_id: required for identify"


def test_pageview_needs_an_absolute_http_url() -> None:
    assert rejected(make_hit(url=None)) == "url: required for a pageview"
    assert rejected(make_hit(url="javascript:alert(1)")) == "url: must be an absolute http(s) URL"
    assert rejected(make_hit(url="ftp://example.com/")) == "url: must be an absolute http(s) URL"
    assert not isinstance(validate(make_hit(url="HTTPS://example.com/x"), make_context()), Drop)


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("abc", "revenue.amount: not a decimal number"),
        ("NaN", "revenue.amount: not a decimal number"),
        ("Infinity", "revenue.amount: not a decimal number"),
        ("1e13", "revenue.amount: 10^12 or more in absolute value"),
        ("1e+16", "revenue.amount: 10^12 or more in absolute value"),  # str() of a JSON number
        ("1.1234567", "revenue.amount: more than 6 decimal places"),
    ],
)
def test_revenue_amount_must_be_a_sane_decimal(amount: str, reason: str) -> None:
    hit = make_hit(type="event", name="payment", revenue_amount=amount, revenue_currency="EUR")
    assert rejected(hit) == reason


@pytest.mark.parametrize("amount", ["1000000000000", "-1000000000000", "1e12", "-1E+12"])
def test_an_amount_of_10_to_the_12_does_not_fit_the_stored_decimal(amount: str) -> None:
    """DECIMAL(18, 6) holds twelve digits before the point."""
    hit = make_hit(type="event", name="payment", revenue_amount=amount, revenue_currency="EUR")
    assert rejected(hit) == "revenue.amount: 10^12 or more in absolute value"


@pytest.mark.parametrize(
    ("amount", "stored"),
    [
        ("999999999999.999999", "999999999999.999999"),
        ("-999999999999.999999", "-999999999999.999999"),
        ("+5", "5"),
        ("5.", "5"),
        (".5", "0.5"),
        ("1e-05", "0.00001"),
        ("2.5E3", "2500"),
    ],
)
def test_plain_decimal_amounts_pass(amount: str, stored: str) -> None:
    hit = make_hit(type="event", name="payment", revenue_amount=amount, revenue_currency="EUR")
    result = validate(hit, make_context())
    assert isinstance(result, Hit)
    assert result.revenue_amount == stored


@pytest.mark.parametrize(
    "amount",
    ["1_000", "\u0663", "\uff15", "\u0661\u0662.5", "1 000", " 5", "5 ", "0x10", "", "-", "."],
)
def test_an_amount_must_be_plain_ascii_digits(amount: str) -> None:
    """Python's Decimal reads digit separators and the digits of every script; an amount is
    written with 0-9 only."""
    hit = make_hit(type="event", name="payment", revenue_amount=amount, revenue_currency="EUR")
    assert rejected(hit) == "revenue.amount: not a decimal number"


@pytest.mark.parametrize("currency", ["EUT", "ABC", "QQQ", "XXX", "XTS", "xxx"])
def test_revenue_currency_must_be_an_iso_4217_code(currency: str) -> None:
    hit = make_hit(type="event", name="payment", revenue_amount="5", revenue_currency=currency)
    assert rejected(hit) == "revenue.currency: not an ISO 4217 currency code"


@pytest.mark.parametrize("currency", ["EUR", "JPY", "CHF", "BRL", "XAU"])
def test_iso_4217_currencies_pass(currency: str) -> None:
    hit = make_hit(type="event", name="payment", revenue_amount="5", revenue_currency=currency)
    assert isinstance(validate(hit, make_context()), Hit)


def test_revenue_amount_is_normalised_exactly() -> None:
    hit = make_hit(type="event", name="payment", revenue_amount="49.900", revenue_currency="EUR")
    result = validate(hit, make_context())
    assert isinstance(result, Hit)
    assert result.revenue_amount == "49.9"


def test_time_defaults_to_received() -> None:
    result = validate(make_hit(), make_context())
    assert isinstance(result, Hit)
    assert result.time_us == NOW_US


def test_client_clock_skew_is_corrected_with_sent_at() -> None:
    # The client's clock runs 2 hours fast: it says the event happened at 12:00 and was sent at
    # 12:05 (its time); the server received it at 10:05, so it happened at 10:00.
    skew = 2 * HOUR_US
    hit = make_hit(timestamp_us=NOW_US + skew - 300_000_000, sent_us=NOW_US + skew)
    result = validate(hit, make_context())
    assert isinstance(result, Hit)
    assert result.time_us == NOW_US - 300_000_000


def test_a_time_in_the_future_becomes_the_time_received() -> None:
    result = validate(make_hit(timestamp_us=NOW_US + HOUR_US), make_context())
    assert isinstance(result, Hit)
    assert result.time_us == NOW_US


def test_public_key_may_backdate_24_hours_and_no_more() -> None:
    ok = validate(make_hit(timestamp_us=NOW_US - 24 * HOUR_US), make_context())
    assert isinstance(ok, Hit)
    too_old = make_hit(timestamp_us=NOW_US - 24 * HOUR_US - 1)
    assert rejected(too_old) == "timestamp: more than 24 h in the past needs the secret key"


def test_secret_key_may_backdate_further() -> None:
    hit = make_hit(timestamp_us=NOW_US - 90 * 24 * HOUR_US, trusted=True, origin="server")
    assert isinstance(validate(hit, make_context()), Hit)


def test_seconds_sent_as_milliseconds_are_refused() -> None:
    hit = make_hit(timestamp_us=1_790_000_000 * 1000, trusted=True)
    assert rejected(hit) == "timestamp: before the year 2000 (epoch milliseconds expected)"
