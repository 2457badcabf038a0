"""Stripe amounts: integers of the currency's minor unit, as exact decimal text.

Stripe counts most currencies in hundredths, some in whole units (zero-decimal: JPY, KRW, …) and
a few in thousandths (three-decimal: BHD, KWD, …), per its currency guide. ISK, HUF and TWD are
zero-decimal in practice but Stripe's API still counts them in hundredths, so they take the
default here. Currencies come lower-case from Stripe and leave upper-case. No floats anywhere:
a float cannot hold 0.1.
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def decimals(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def amount_text(minor_units: int, currency: str) -> str:
    """`1999, "usd"` → `"19.99"`; `500, "jpy"` → `"500"`; `1234, "kwd"` → `"1.234"`."""
    places = decimals(currency)
    return f"{Decimal(minor_units).scaleb(-places):.{places}f}"


def monthly_minor_units(amount_minor: int, interval: str | None, interval_count: int) -> Decimal:
    """A recurring price per month, for comparing plans billed over different intervals."""
    months_per_interval = {
        "day": Decimal(12) / Decimal(365),
        "week": Decimal(12) / Decimal(52),
        "month": Decimal(1),
        "year": Decimal(12),
    }.get(interval or "month", Decimal(1))
    return Decimal(amount_minor) / (months_per_interval * max(interval_count, 1))
