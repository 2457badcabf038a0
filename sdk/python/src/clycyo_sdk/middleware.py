"""Middleware that makes the current request's visitor available anywhere in the handler.

The WSGI, ASGI and Django middleware read the request once (see `request_context`) and put the
result in a context variable for the time of the request; `current_request_context()` returns it
and `Client.track_request(None, ...)` uses it. They never alter the request or the response and
never fail it: an unreadable request just leaves the context empty.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable

from clycyo_sdk.client_ip import ProxyTrust, TrustedProxies
from clycyo_sdk.request_context import VISITOR_COOKIE, RequestContext, read_request
from clycyo_sdk.stats import logger

_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "clycyo_request_context", default=None
)

# Loose on purpose: frameworks type their WSGI callables with their own environ and
# start_response types (Flask: dict and StartResponse), and a precise alias would refuse them.
WSGIApp = Callable[[Any, Any], Iterable[bytes]]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def current_request_context() -> RequestContext | None:
    """The visitor of the request being handled, when a Clycyo middleware is installed."""
    return _current.get()


class _Reader:
    def __init__(
        self,
        trusted_proxies: TrustedProxies,
        proxy_header: str,
        visitor_cookie: str,
    ) -> None:
        self._trust = ProxyTrust(trusted_proxies, proxy_header)
        self._cookie = visitor_cookie

    def read(self, request: object) -> RequestContext | None:
        try:
            return read_request(request, self._trust, self._cookie)
        except Exception:
            logger.debug("clycyo: could not read the request", exc_info=True)
            return None


class WSGIMiddleware(_Reader):
    """`app.wsgi_app = WSGIMiddleware(app.wsgi_app)` in Flask; wraps any WSGI application."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        trusted_proxies: TrustedProxies = None,
        proxy_header: str = "x-forwarded-for",
        visitor_cookie: str = VISITOR_COOKIE,
    ) -> None:
        super().__init__(trusted_proxies, proxy_header, visitor_cookie)
        self.app = app

    def __call__(
        self, environ: MutableMapping[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # The handler runs inside this call; a streamed body produced later sees no context.
        token = _current.set(self.read(environ))
        try:
            return self.app(environ, start_response)
        finally:
            _current.reset(token)


class ASGIMiddleware(_Reader):
    """`app.add_middleware(ASGIMiddleware)` in FastAPI/Starlette; wraps any ASGI application."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_proxies: TrustedProxies = None,
        proxy_header: str = "x-forwarded-for",
        visitor_cookie: str = VISITOR_COOKIE,
    ) -> None:
        super().__init__(trusted_proxies, proxy_header, visitor_cookie)
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = _current.set(self.read(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


class DjangoMiddleware(_Reader):
    """Add "clycyo_sdk.DjangoMiddleware" to MIDDLEWARE. Settings, all optional:
    CLYCYO_TRUSTED_PROXIES, CLYCYO_PROXY_HEADER, CLYCYO_VISITOR_COOKIE."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        from django.conf import settings  # type: ignore[import-not-found, import-untyped, unused-ignore]

        super().__init__(
            getattr(settings, "CLYCYO_TRUSTED_PROXIES", None),
            getattr(settings, "CLYCYO_PROXY_HEADER", "x-forwarded-for"),
            getattr(settings, "CLYCYO_VISITOR_COOKIE", VISITOR_COOKIE),
        )
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        token = _current.set(self.read(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
