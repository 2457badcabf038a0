"""The `validate` step: the rules an event must meet beyond its wire types, and its corrected time.

Types and sizes were checked while decoding (`collect/wire.py`); here are the rules that need more
than one field or the key's trust level. Every rejection names the field and the reason. The step
also settles the event's time: client clocks are corrected with `sent_at`, and a time in the
future becomes the time received.
"""

from __future__ import annotations

import re
from decimal import Decimal

from clycyo import currencies
from clycyo.collect import limits
from clycyo.collect.origins import ambiguous_host
from clycyo.model import Drop, DropReason, Hit
from clycyo.pipeline.context import Context

# Amounts are stored as DECIMAL(18, 6): twelve digits before the point, so the bound is
# exclusive (999,999,999,999.999999 is the largest amount kept).
_MAX_AMOUNT = Decimal(limits.MAX_AMOUNT)
_MAX_DECIMALS = 6
# Plain ASCII decimals, as JSON writes numbers: Python's Decimal also reads "1_000", other
# scripts' digits (Arabic-Indic, full-width), which no client means as an amount.
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_BACKDATE_PUBLIC_US = limits.MAX_BACKDATE_PUBLIC_S * 1_000_000
# Events placed before this are certainly mistakes (seconds sent where milliseconds were meant).
EARLIEST_US = 946_684_800_000_000  # 2000-01-01: no event is dated before


def _invalid(detail: str) -> Drop:
    return Drop(DropReason.INVALID, detail)


def corrected_time_us(hit: Hit) -> int:
    """`received_at - (sent_at - timestamp)` when both are known, capped at `received_at`."""
    received = hit.received_us
    timestamp = hit.timestamp_us
    if timestamp is None:
        return received
    if hit.sent_us is not None:
        timestamp = received - (hit.sent_us - timestamp)
    return min(timestamp, received)


def _check_revenue(hit: Hit) -> str | None:
    amount_text = hit.revenue_amount
    if amount_text is None:
        return None
    if hit.revenue_currency is None or not currencies.known(hit.revenue_currency):
        return "revenue.currency: not an ISO 4217 currency code"
    if _AMOUNT.fullmatch(amount_text) is None:
        return "revenue.amount: not a decimal number"
    amount = Decimal(amount_text)
    # copy_abs, unlike abs(), ignores the context: abs(1e999999999) raises Overflow.
    if amount.copy_abs() >= _MAX_AMOUNT:
        return "revenue.amount: 10^12 or more in absolute value"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_MAX_DECIMALS:
        return f"revenue.amount: more than {_MAX_DECIMALS} decimal places"
    hit.revenue_amount = format(amount.normalize(), "f") if amount else "0"
    return None


def validate(hit: Hit, ctx: Context) -> Hit | Drop:
    kind = hit.type
    if kind == "event" and not hit.name:
        return _invalid("name: required for an event")
    if kind == "identify" and not hit.user_id:
        return _invalid("user_id: required for identify")
    if kind == "pageview" and not hit.url:
        return _invalid("url: required for a pageview")
    if (
        hit.url is not None
        and not hit.url.startswith(("http://", "https://"))
        and not hit.url[:8].lower().startswith(("http://", "https://"))  # schemes ignore case
    ):
        return _invalid("url: must be an absolute http(s) URL")
    if hit.url is not None and (unclear := ambiguous_host(hit.url)):
        return _invalid(f"url: {unclear}")
    if hit.order_id is not None and hit.revenue_amount is None and kind != "event":
        return _invalid("order_id: only events carry an order")
    problem = _check_revenue(hit)
    if problem:
        return _invalid(problem)

    time_us = corrected_time_us(hit)
    if time_us < EARLIEST_US:
        return _invalid("timestamp: before the year 2000 (epoch milliseconds expected)")
    if not hit.trusted and hit.received_us - time_us > _MAX_BACKDATE_PUBLIC_US:
        return _invalid("timestamp: more than 24 h in the past needs the secret key")
    hit.time_us = time_us
    return hit
