"""`POST /api/collect`: Clycyo's own wire format over HTTP (CONTRACT §2).

Reads the body, finds the site from the key, decodes the events and hands them to `Ingest`.
Everything about an event's meaning lives in the pipeline; this module is the HTTP boundary.
Every answer, whatever its status, lets a page of a site this server collects for read it (a
page must see its `429`'s `Retry-After`), and carries `Vary: Origin`.
"""

from __future__ import annotations

from typing import Any

from clycyo.collect import http, limits
from clycyo.collect.body import Body, read_body
from clycyo.collect.ingest import Ingest
from clycyo.collect.origins import belongs_to, known_host, known_origin, origin_host
from clycyo.collect.ratelimit import RateLimiter, too_many
from clycyo.collect.wire import EventIn, WireError
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site
from clycyo.store.intake import IntakeUnavailable

_PREFLIGHT_HEADERS = [
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type, Content-Encoding"),
    (b"access-control-max-age", b"86400"),
]


class CollectHandler:
    def __init__(
        self,
        ingest: Ingest,
        directory: SiteDirectory,
        client_ip: Any,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.ingest = ingest
        self.directory = directory
        self.client_ip = client_ip  # (scope, headers) -> the end user's address
        self.limiter = limiter or RateLimiter(0, 0)

    async def __call__(self, scope: http.Scope, receive: Any, send: Any) -> None:
        method = scope["method"]
        headers = http.headers_dict(scope)
        origin = headers.get(b"origin")
        if method == "OPTIONS":
            await self._preflight(send, origin)
            return
        # Read once: it decides the CORS headers, and a public key's events must come from a page
        # of their own site.
        host = None if origin is None else origin_host(origin.decode("latin-1"))
        # Passed to each answer rather than wrapping `send`: a wrapper costs every request two
        # more coroutine calls.
        cors = http.cors_headers(origin, host is not None and known_host(host, self.directory))
        if method != "POST":
            await http.send_json(
                send, 405, {"error": "use POST"}, [(b"allow", b"POST, OPTIONS"), *cors]
            )
            return
        if self.ingest.saturated():
            await http.send_json(
                send,
                429,
                {"error": "too many requests in flight"},
                [(b"retry-after", b"1"), *cors],
            )
            return
        ip = self.client_ip(scope, headers)
        if wait_s := self.limiter.source_wait_s(ip):
            status, message, retry = too_many(wait_s, "address")
            await http.send_json(send, status, {"error": message}, [*retry, *cors])
            return
        try:
            body = await http.read_body(scope, receive, headers)
        except http.BodyError as exc:
            await http.send_json(send, exc.status, {"error": exc.message}, cors)
            return
        try:
            read = read_body(body)
        except WireError as exc:
            await http.send_json(send, 400, {"error": str(exc)}, cors)
            return

        if len(read.items) > limits.MAX_BATCH_EVENTS:
            message = f"batch: more than {limits.MAX_BATCH_EVENTS} events; split it"
            await http.send_json(send, 413, {"error": message}, cors)
            return

        token = _secret_key(headers)
        trusted = token is not None
        site: Site | None
        if token is not None:
            site = self.directory.by_secret_key(token)
            if site is None:
                await http.send_json(send, 401, {"error": "unknown or revoked secret key"}, cors)
                return
        else:
            site = self._site_of_public_keys(read)
            if site is None:
                await http.send_json(
                    send,
                    401,
                    {"error": "key: missing or unknown public key (or keys of two sites)"},
                    cors,
                )
                return
            if origin is not None and (host is None or not belongs_to(host, site.domain)):
                await http.send_json(
                    send, 403, {"error": f"origin: not a page of {site.domain}"}, cors
                )
                return

        if wait_s := self.limiter.key_wait_s(site.id, trusted):
            status, message, retry = too_many(wait_s, "key")
            await http.send_json(send, status, {"error": message}, [*retry, *cors])
            return

        user_agent = headers.get(b"user-agent")
        try:
            outcome = await self.ingest.ingest(
                site,
                trusted,
                read.items,
                ip=ip,
                user_agent=None if user_agent is None else user_agent.decode("latin-1"),
                batch_sent_at=read.sent_at,
            )
        except IntakeUnavailable as exc:
            await http.send_json(
                send,
                503,
                {"error": f"not accepted, retry later: {exc.reason}"},
                [(b"retry-after", str(exc.retry_after_s).encode()), *cors],
            )
            return
        await http.send_json(send, 200, outcome.body(), cors)

    def _site_of_public_keys(self, read: Body) -> Site | None:
        keys = {read.key} if read.key else set()
        for item in read.items:
            # An event that did not decode offers no key: it cannot vouch for the request.
            if isinstance(item, EventIn) and item.key:
                keys.add(item.key)
        if len(keys) != 1:
            return None
        return self.directory.by_public_key(keys.pop())

    async def _preflight(self, send: Any, origin: bytes | None) -> None:
        allowed = origin is not None and known_origin(origin, self.directory)
        await http.send_empty(send, 204, _PREFLIGHT_HEADERS + http.cors_headers(origin, allowed))


def _secret_key(headers: dict[bytes, bytes]) -> str | None:
    """The credentials of `Authorization: Bearer sk_…`, None when the header is absent or empty.

    The scheme is case-insensitive (RFC 9110); a header without one is taken as the key itself."""
    value = headers.get(b"authorization", b"").decode("latin-1").strip()
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else value
