"""The dashboard's login session on the HTTP side: its cookie, CSRF checks and same-origin rule.

A session cookie is honoured only on requests the dashboard itself makes (same origin): the
browser says so in `Sec-Fetch-Site` (or, from older browsers, `Origin`), so another site cannot
ride a logged-in user's cookie even where SameSite would let it through. State-changing requests
also need the session's CSRF token (a form field or the `X-CSRF-Token` header). Storage of
sessions is `config/access.py`'s; this module must not decide which site a user may read.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from clycyo.config.access import SESSION_TTL_S, AccessStore, DashboardSession
from clycyo.config.two_factor import TwoFactorStore

SESSION_COOKIE = "clycyo_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


def server_state(request: Request, name: str, make: Callable[[], T]) -> T:
    """The server's one `name` (kept on the app's state), made by `make` on first use."""
    state = request.app.state
    found: T | None = getattr(state, name, None)
    if found is None:
        found = make()
        setattr(state, name, found)
    return found


def access_store(request: Request) -> AccessStore:
    """The server's access store, opened on first use on the runtime's configuration store."""
    return server_state(request, "access", lambda: AccessStore(request.app.state.runtime.config))


def two_factor_store(request: Request) -> TwoFactorStore:
    """The server's two-factor store, opened on first use, like `access_store`."""
    config = request.app.state.runtime.config
    return server_state(request, "two_factor", lambda: TwoFactorStore(config))


def is_cross_site(request: Request) -> bool:
    """True when another origin (or an unknown one) made the browser send this request."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc != request.headers.get("host", "")
    return False  # a browser that sends neither header predates cross-site requests with cookies


def current_session(request: Request) -> DashboardSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or is_cross_site(request):
        return None
    return access_store(request).session(token)


def csrf_matches(expected: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(expected.encode(), str(submitted).encode())


def is_https(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    # A proxy's word on the scheme counts only when the operator said proxies are trusted.
    trusted = request.app.state.runtime.settings.trusted_proxies > 0
    return trusted and request.headers.get("x-forwarded-proto", "") == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
