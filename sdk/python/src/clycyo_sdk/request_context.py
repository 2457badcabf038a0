"""Reading the visitor from a web request: the `clycyo_vid` cookie, the end user's IP and browser.

Works on a WSGI environ, an ASGI scope, and on Django, Flask/Werkzeug, Starlette/FastAPI and
similar request objects by their attributes alone: no web framework is imported, ever.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clycyo_sdk.client_ip import ProxyTrust, TrustedProxies

VISITOR_COOKIE = "clycyo_vid"  # the tracker's first-party visitor id cookie (CONTRACT §4)
_HEADERS = ("cookie", "user-agent", "accept-language", "x-forwarded-for", "forwarded", "x-real-ip")
_MAX_USER_AGENT_CHARS = 2000  # the collector's limit for free text
_VISITOR_ID = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,200}$")
_LOCALE = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class RequestContext:
    """What the SDK learned about the end user from one request."""

    visitor_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    locale: str | None = None

    def as_context(self) -> dict[str, str]:
        """The event's `context` object (ip, user_agent, locale), without the unknowns."""
        found = {"ip": self.ip, "user_agent": self.user_agent, "locale": self.locale}
        return {key: value for key, value in found.items() if value is not None}


def request_context(
    request: object,
    *,
    trusted_proxies: TrustedProxies = None,
    proxy_header: str = "x-forwarded-for",
    visitor_cookie: str = VISITOR_COOKIE,
) -> RequestContext:
    """Read a request; raises TypeError for an object it does not recognise."""
    return read_request(request, ProxyTrust(trusted_proxies, proxy_header), visitor_cookie)


def read_request(request: object, trust: ProxyTrust, visitor_cookie: str) -> RequestContext:
    if isinstance(request, RequestContext):
        return request
    headers, peer = _headers_and_peer(request)
    user_agent = headers.get("user-agent") or None
    return RequestContext(
        visitor_id=cookie_value(headers.get("cookie", ""), visitor_cookie),
        ip=trust.client_ip(peer, headers),
        user_agent=user_agent[:_MAX_USER_AGENT_CHARS] if user_agent else None,
        locale=_first_locale(headers.get("accept-language", "")),
    )


def cookie_value(cookie_header: str, name: str) -> str | None:
    """One cookie's value. Hand-parsed: SimpleCookie gives up on the whole header at the first
    malformed cookie that some other script on the site set."""
    for part in cookie_header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            value = value.strip().strip('"')
            return value if _VISITOR_ID.match(value) else None
    return None


def _headers_and_peer(request: object) -> tuple[dict[str, str], str | None]:
    """The headers the SDK reads (lower-case names) and the socket peer address."""
    if isinstance(request, Mapping):
        if "REQUEST_METHOD" in request or "wsgi.version" in request:
            return _from_environ(request)
        if request.get("type") in ("http", "websocket") and "headers" in request:
            return _from_scope(request)
    scope = getattr(request, "scope", None)  # Starlette, FastAPI
    if isinstance(scope, Mapping) and "headers" in scope:
        return _from_scope(scope)
    for attribute in ("META", "environ"):  # Django; Flask and Werkzeug
        environ = getattr(request, attribute, None)
        if isinstance(environ, Mapping):
            return _from_environ(environ)
    headers = getattr(request, "headers", None)  # anything else with a headers mapping
    if headers is not None and callable(getattr(headers, "get", None)):
        return _from_headers(request, headers)
    raise TypeError(f"cannot read a request of type {type(request).__name__}")


def _from_environ(environ: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    headers = {}
    for name in _HEADERS:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        if isinstance(value, str):
            headers[name] = value
    peer = environ.get("REMOTE_ADDR")
    return headers, peer if isinstance(peer, str) else None


def _from_scope(scope: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    found: dict[str, list[str]] = {}
    raw_headers: Iterable[tuple[bytes, bytes]] = scope.get("headers") or ()
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        if name in _HEADERS:
            found.setdefault(name, []).append(raw_value.decode("latin-1"))
    # Repeated lines are one list; HTTP/2 splits cookies into lines that join with "; ".
    headers = {name: ("; " if name == "cookie" else ", ").join(v) for name, v in found.items()}
    client = scope.get("client")
    peer = client[0] if client and isinstance(client[0], str) else None
    return headers, peer


def _from_headers(request: object, source: Any) -> tuple[dict[str, str], str | None]:
    headers = {}
    for name in _HEADERS:
        value = source.get(name)
        if isinstance(value, str):
            headers[name] = value
    peer = getattr(request, "remote_addr", None) or getattr(request, "remote", None)
    if peer is None:
        peer = getattr(getattr(request, "client", None), "host", None)
    return headers, peer if isinstance(peer, str) else None


def _first_locale(accept_language: str) -> str | None:
    """The first language tag of `Accept-Language` (browsers list the preferred one first)."""
    tag = accept_language.split(",", 1)[0].split(";", 1)[0].strip()
    return tag if tag and len(tag) <= 64 and _LOCALE.match(tag) else None


__all__ = ["VISITOR_COOKIE", "RequestContext", "cookie_value", "read_request", "request_context"]
