"""Rate limits of the collect endpoints: per source address and per key, as token buckets.

A source (the end user's address as `collect/proxy.py` resolves it; an IPv6 client by its /64,
which one machine usually holds whole) and a key (a site's public or secret key) each get a
bucket that refills at a steady rate and holds a few seconds' worth, so bursts pass and floods
are answered `429` with `Retry-After`. Loopback sources are not limited per source: they are a
reverse proxy not declared with `--trusted-proxies` (whose single address would throttle every
visitor together) or tools on the machine itself.

This module only counts and decides; the handlers send the answer. It keeps no state on disk:
a restart forgets every bucket, which errs towards letting traffic in.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import Counter

BURST_S = 5.0  # a bucket holds this many seconds of its rate
_MAX_BUCKETS = 100_000  # beyond this, idle buckets are dropped (a flood of forged addresses)


class Buckets:
    """Token buckets by key; `take` answers the seconds to wait, or 0 when one token was free."""

    def __init__(self, rate_per_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = max(1.0, rate_per_s * BURST_S)
        self._state: dict[object, tuple[float, float]] = {}  # key -> (tokens, at monotonic s)

    def take(self, key: object, now_s: float) -> float:
        tokens, at_s = self._state.get(key, (self.capacity, now_s))
        tokens = min(self.capacity, tokens + (now_s - at_s) * self.rate_per_s)
        if tokens < 1.0:
            self._state[key] = (tokens, now_s)
            return (1.0 - tokens) / self.rate_per_s
        if len(self._state) >= _MAX_BUCKETS and key not in self._state:
            self._prune(now_s)
        self._state[key] = (tokens - 1.0, now_s)
        return 0.0

    def _prune(self, now_s: float) -> None:
        refill_s = self.capacity / self.rate_per_s
        idle = [k for k, (_, at_s) in self._state.items() if now_s - at_s >= refill_s]
        for key in idle:
            del self._state[key]
        if len(self._state) >= _MAX_BUCKETS:
            self._state.clear()  # forgetting errs towards letting traffic in

    def __len__(self) -> int:
        return len(self._state)


def source_of(ip: str | None) -> str | None:
    """The bucket key of an address: IPv4 as is, IPv6 by /64; None for loopback or unknown."""
    if not ip or ip.startswith("127."):
        return None
    if ":" not in ip:
        return ip
    try:
        address = ipaddress.IPv6Address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if address.is_loopback:
        return None
    mapped = address.ipv4_mapped
    if mapped is not None:
        return source_of(str(mapped))
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))


class RateLimiter:
    """Both limits of one server; a rate of 0 turns that limit off."""

    def __init__(self, source_per_s: float = 100.0, key_per_s: float = 5000.0) -> None:
        self.sources = Buckets(source_per_s) if source_per_s > 0 else None
        self.keys = Buckets(key_per_s) if key_per_s > 0 else None
        self.refused: Counter[str] = Counter()  # by limit: "address", "key" (as `/metrics` says)

    def source_wait_s(self, ip: str | None) -> int:
        """Whole seconds a request from `ip` must wait (0: go ahead)."""
        if self.sources is None:
            return 0
        key = source_of(ip)
        if key is None:
            return 0
        return self._verdict(self.sources.take(key, time.monotonic()), "address")

    def key_wait_s(self, site_id: int, trusted: bool) -> int:
        """Whole seconds a request with this site's public (or secret) key must wait."""
        if self.keys is None:
            return 0
        return self._verdict(self.keys.take((site_id, trusted), time.monotonic()), "key")

    def _verdict(self, wait_s: float, limit: str) -> int:
        if wait_s <= 0:
            return 0
        self.refused[limit] += 1
        return max(1, math.ceil(wait_s))


def too_many(wait_s: int, limit: str) -> tuple[int, str, list[tuple[bytes, bytes]]]:
    """Status, message and headers of the answer to a request over a limit."""
    message = f"rate limit: too many requests for this {limit}; retry in {wait_s} s"
    return 429, message, [(b"retry-after", str(wait_s).encode())]
