"""The HTTP exchange every foreign wire format shares: method, back-pressure, body, ingest, answer.

A format module supplies a `Format`: it turns a `Request` (path, query, headers, inflated body,
the end user's address) into a `Delivery` (the site, whether the secret key was used, the events
as Clycyo's `EventIn`), or raises `FormatError`. This module does the rest exactly as
`POST /api/collect` does, and knows no format's fields.

Answers are JSON with status 200 on success: RudderStack's and PostHog's clients treat any other
2xx as a failure. Error bodies carry `error` (Clycyo's name), `message` and `code` (what Segment's
and RudderStack's clients read) and `detail` (what PostHog's read).

CORS as for `POST /api/collect`: every answer, whatever its status, lets a page of a site this
server collects for read it (the browser libraries of all three post from the site's pages), and
no other origin; every answer carries `Vary: Origin`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from clycyo.collect import http
from clycyo.collect.ingest import Ingest, Invalid
from clycyo.collect.origins import known_origin
from clycyo.collect.ratelimit import RateLimiter, too_many
from clycyo.collect.wire import EventIn, Instant
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import Site
from clycyo.store.intake import IntakeUnavailable

_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 413: "too_large"}


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[bytes, bytes]
    body: bytes  # inflated when it came gzip-encoded
    ip: str | None  # the sender's address (the end user's when a browser sent it)
    user_agent: str | None


@dataclass
class Delivery:
    site: Site
    trusted: bool  # the site's secret key was presented
    items: list[EventIn | Invalid]
    sent_at: Instant | None = None  # the batch's send time, for clock-skew correction
    ip: str | None = None  # the end user's address, for untrusted (browser) deliveries
    user_agent: str | None = None
    extra: dict[str, object] = field(default_factory=dict)  # added to the 200 answer


class FormatError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Format(Protocol):
    def parse(self, request: Request, directory: SiteDirectory) -> Delivery: ...


async def send_error(
    send: Any, status: int, message: str, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = {
        "error": message,
        "message": message,
        "detail": message,
        "code": _CODES.get(status, "unavailable"),
    }
    await http.send_json(send, status, body, extra_headers)


class FormatEndpoint:
    def __init__(
        self,
        format_: Format,
        ingest: Ingest,
        directory: SiteDirectory,
        client_ip: Any,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.format = format_
        self.ingest = ingest
        self.directory = directory
        self.client_ip = client_ip  # (scope, headers) -> the sender's address
        self.limiter = limiter or RateLimiter(0, 0)

    async def __call__(self, scope: http.Scope, receive: Any, send: Any) -> None:
        headers = http.headers_dict(scope)
        origin = headers.get(b"origin")
        if scope["method"] == "OPTIONS":
            await self._preflight(send, origin)
            return
        allowed = origin is not None and known_origin(origin, self.directory)
        send = http.with_headers(send, http.cors_headers(origin, allowed))
        if scope["method"] != "POST":
            await send_error(send, 405, "use POST", [(b"allow", b"POST, OPTIONS")])
            return
        if self.ingest.saturated():
            await send_error(send, 429, "too many requests in flight", [(b"retry-after", b"1")])
            return
        ip = self.client_ip(scope, headers)
        if wait_s := self.limiter.source_wait_s(ip):
            await send_error(send, *too_many(wait_s, "address"))
            return
        try:
            body = await http.read_body(scope, receive, headers)
        except http.BodyError as exc:
            await send_error(send, exc.status, exc.message)
            return
        user_agent = headers.get(b"user-agent")
        request = Request(
            path=scope["path"],
            query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
            headers=headers,
            body=body,
            ip=ip,
            user_agent=None if user_agent is None else user_agent.decode("latin-1"),
        )
        try:
            delivery = self.format.parse(request, self.directory)
        except FormatError as exc:
            await send_error(send, exc.status, exc.message)
            return
        if wait_s := self.limiter.key_wait_s(delivery.site.id, delivery.trusted):
            await send_error(send, *too_many(wait_s, "key"))
            return
        try:
            outcome = await self.ingest.ingest(
                delivery.site,
                delivery.trusted,
                delivery.items,
                ip=delivery.ip,
                user_agent=delivery.user_agent,
                batch_sent_at=delivery.sent_at,
            )
        except IntakeUnavailable as exc:
            retry = [(b"retry-after", str(exc.retry_after_s).encode())]
            await send_error(send, 503, f"not accepted, retry later: {exc.reason}", retry)
            return
        await http.send_json(send, 200, {**outcome.body(), **delivery.extra})

    async def _preflight(self, send: Any, origin: bytes | None) -> None:
        headers = [
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", b"Content-Type, Content-Encoding, Authorization"),
            (b"access-control-max-age", b"86400"),
        ]
        allowed = origin is not None and known_origin(origin, self.directory)
        await http.send_empty(send, 204, headers + http.cors_headers(origin, allowed))
