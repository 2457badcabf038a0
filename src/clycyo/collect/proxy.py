"""The end user's IP address of a request, believing proxy headers only when told to.

With `trusted_proxies = 0` (the default) the socket peer is the client: a forged
`X-Forwarded-For` changes nothing. Behind N proxies that each append to `X-Forwarded-For`, the
client is the Nth address from the right.
"""

from __future__ import annotations

from typing import Any


class ClientAddress:
    def __init__(self, trusted_proxies: int = 0) -> None:
        self.trusted_proxies = trusted_proxies

    def __call__(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> str | None:
        client = scope.get("client")
        peer: str | None = client[0] if client else None
        if self.trusted_proxies <= 0:
            return peer
        forwarded = headers.get(b"x-forwarded-for")
        if not forwarded:
            return peer
        hops = [h.strip() for h in forwarded.decode("latin-1").split(",") if h.strip()]
        if not hops:
            return peer
        return hops[max(0, len(hops) - self.trusted_proxies)]
