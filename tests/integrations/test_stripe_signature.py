"""Clycyo's Stripe signature check agrees with Stripe's own library, both ways."""

from __future__ import annotations

import time

import pytest
import stripe

from clycyo.integrations.stripe_signature import SignatureError, sign, verify

SECRET = "whsec_unit_test_secret"
PAYLOAD = b'{"id": "evt_1", "type": "invoice.paid"}'


def test_accepts_what_stripe_signs() -> None:
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(PAYLOAD.decode(), SECRET, now)
    assert verify(PAYLOAD, header, [SECRET], now_s=now + 10) == now


def test_stripe_accepts_what_clycyo_signs() -> None:
    now = int(time.time())
    header = f"t={now},v1={sign(PAYLOAD, SECRET, now)}"
    stripe.WebhookSignature.verify_header(PAYLOAD.decode(), header, SECRET, tolerance=300)


def test_any_v1_of_any_secret_matches_and_v0_is_ignored() -> None:
    now = 1_800_000_000
    good = sign(PAYLOAD, "whsec_new", now)
    header = f"t={now},v0={good},v1={'a' * 64},v1={good}"
    assert verify(PAYLOAD, header, ["whsec_old", "whsec_new"], now_s=now) == now
    with pytest.raises(SignatureError, match="no v1"):
        verify(PAYLOAD, f"t={now},v0={good}", ["whsec_new"], now_s=now)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=abc", "no timestamp"),
        ("t=soon,v1=abc", "not a number"),
        ("t=1800000000,v1=ünïcode", "no signature matches"),
    ],
)
def test_malformed_headers(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(PAYLOAD, header, [SECRET], now_s=1_800_000_000)


def test_tolerance_and_tampering() -> None:
    then = 1_800_000_000
    header = f"t={then},v1={sign(PAYLOAD, SECRET, then)}"
    assert verify(PAYLOAD, header, [SECRET], now_s=then + 300) == then
    with pytest.raises(SignatureError, match="timestamp"):
        verify(PAYLOAD, header, [SECRET], now_s=then + 301)
    with pytest.raises(SignatureError, match="timestamp"):
        verify(PAYLOAD, header, [SECRET], now_s=then - 301)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(PAYLOAD + b" ", header, [SECRET], now_s=then)
