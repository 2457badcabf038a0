"""Stripe's webhook signature: HMAC-SHA256 over `"{t}.{raw body}"`, checked as Stripe documents.

The `Stripe-Signature` header is `t=TIMESTAMP,v1=SIG[,v1=SIG…]`. While a signing secret is being
rolled Stripe sends one `v1` per live secret, so any match is enough; other schemes (`v0`) are
ignored. Comparisons are constant-time, and a timestamp further than the tolerance from now is
refused, so a captured delivery cannot be replayed later. This module verifies; it parses no
event.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

TOLERANCE_S = 300


class SignatureError(ValueError):
    """The delivery is not proven to come from Stripe; the message says why."""


def parse_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures) of a `Stripe-Signature` header."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("Stripe-Signature: t is not a number") from None
        elif key == "v1" and value:
            signatures.append(value.strip())
    if timestamp is None:
        raise SignatureError("Stripe-Signature: no timestamp (t=)")
    if not signatures:
        raise SignatureError("Stripe-Signature: no v1 signature")
    return timestamp, signatures


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    now_s: float,
    tolerance_s: int = TOLERANCE_S,
) -> int:
    """The signed timestamp when some `v1` signature matches some secret; else `SignatureError`."""
    if not header:
        raise SignatureError("Stripe-Signature: header missing")
    timestamp, signatures = parse_header(header)
    matched = False
    for secret in secrets:
        expected = sign(payload, secret, timestamp)
        # Check every candidate: stopping at the first match would leak which one matched.
        for signature in signatures:
            matched |= hmac.compare_digest(expected.encode(), signature.encode())
    if not matched:
        raise SignatureError("Stripe-Signature: no signature matches the site's signing secret")
    if abs(now_s - timestamp) > tolerance_s:
        raise SignatureError(
            f"Stripe-Signature: timestamp more than {tolerance_s} s from the server's clock"
        )
    return timestamp
