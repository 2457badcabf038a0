"""Stripe's minor units as exact decimal text, per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clycyo.integrations.stripe_money import amount_text, monthly_minor_units


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1999, "usd", "19.99"),
        (5, "eur", "0.05"),
        (-1000, "eur", "-10.00"),
        (500, "jpy", "500"),
        (12000, "KRW", "12000"),
        (1234, "kwd", "1.234"),
        (1000, "bhd", "1.000"),
        (50000, "isk", "500.00"),  # Stripe still counts ISK in hundredths
        (0, "usd", "0.00"),
    ],
)
def test_amount_text(minor: int, currency: str, text: str) -> None:
    assert amount_text(minor, currency) == text


def test_monthly_amounts() -> None:
    assert monthly_minor_units(12000, "year", 1) == Decimal(1000)
    assert monthly_minor_units(3000, "month", 3) == Decimal(1000)
    assert monthly_minor_units(1000, "week", 1) == Decimal(52000) / Decimal(12)
