"""Logging in and out of the dashboard.

There is no session yet to hold a CSRF token, so the login form carries one the server signed
(`login_tokens.py`), which must also be in the browser's cookie, and a post another site's page
made is refused outright. Failed attempts are throttled per client address and per account
(`login_throttle.py`); the address is the one the rest of the server sees (`collect/proxy.py`,
honouring `--trusted-proxies`). An unknown email costs the same hashing time as a known one, so
response times do not tell which emails have a login. A login with two-factor on gets no session
for its password: it is sent on to the code form (`login_code.py`) with a half-done login
(`login_pending.py`).
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.collect.proxy import ClientAddress
from clycyo.collect.ratelimit import source_of
from clycyo.config.passwords import hash_password, verify_password
from clycyo.config.store import ConfigError
from clycyo.web import sessions
from clycyo.web.dashboard import rendering
from clycyo.web.dashboard.forms import FormRejected, local_path, posted_by_user, read_form
from clycyo.web.dashboard.login_pending import PENDING_COOKIE, PENDING_TTL_S, PendingLogins
from clycyo.web.dashboard.login_throttle import LoginThrottle
from clycyo.web.dashboard.login_tokens import CSRF_TTL_S, KNOWN_BROWSER_TTL_S, LoginTokens

LOGIN_CSRF_COOKIE = "clycyo_login_csrf"
KNOWN_BROWSER_COOKIE = "clycyo_known_browser"
_DUMMY_HASH = hash_password("not a password anyone has")


def login_state(request: Request) -> tuple[LoginThrottle, LoginTokens]:
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle()
    if getattr(state, "login_tokens", None) is None:
        state.login_tokens = LoginTokens()
    return state.login_throttle, state.login_tokens


def pending_logins(request: Request) -> PendingLogins:
    return sessions.server_state(request, "pending_logins", PendingLogins)


def client_address(request: Request) -> str | None:
    """The throttle's key for the client: its address (an IPv6 one by /64), None for loopback."""
    trusted = request.app.state.runtime.settings.trusted_proxies
    headers = dict(request.scope.get("headers") or [])
    return source_of(ClientAddress(trusted)(dict(request.scope), headers))


def login_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=sessions.is_https(request),
        path="/login",
    )


def login_form(
    request: Request,
    error: str = "",
    email: str = "",
    status: int = 200,
    next_path: str = "",
    *,
    retry_after_s: int = 0,
) -> Response:
    next_path = local_path(next_path or request.query_params.get("next", ""), "")
    data = {"error": error, "email": email, "next": next_path}
    return form_page(request, "login.html", data, status, retry_after_s)


def form_page(
    request: Request, template: str, data: dict[str, str], status: int, retry_after_s: int = 0
) -> Response:
    """A form of the login (the password's or the code's) with its signed CSRF token."""
    _, tokens = login_state(request)
    # Reuse the browser's token while it has a while to live, so two open forms both work.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not tokens.csrf_valid(token, time.time() + CSRF_TTL_S / 2):
        token = tokens.csrf_token()
    response = rendering.render_html(request, template, {**data, "csrf": token}, status)
    login_cookie(response, request, LOGIN_CSRF_COOKIE, token, CSRF_TTL_S)
    if retry_after_s:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


def form_posted(request: Request, submitted: str) -> bool:
    """Whether a login form's post carries the token this server signed, in its field and its
    cookie alike, from this server's own page."""
    _, tokens = login_state(request)
    return (
        not sessions.is_cross_site(request)
        and sessions.csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), submitted)
        and tokens.csrf_valid(submitted)
    )


async def login_page(request: Request) -> Response:
    if sessions.current_session(request) is not None:
        target = local_path(request.query_params.get("next", ""), "/sites")
        return RedirectResponse(target, status_code=303)
    return login_form(request)


async def login(request: Request) -> Response:
    try:
        form = await read_form(request)
    except FormRejected as exc:
        return login_form(request, exc.message, status=exc.status)
    email = form.get("email").lower()
    throttle, tokens = login_state(request)
    if not form_posted(request, form.get(sessions.CSRF_FIELD)):
        message = "The form expired; please try again."
        return login_form(request, message, email, 403, form.get("next"))
    address = client_address(request)
    known = tokens.is_known_browser(request.cookies.get(KNOWN_BROWSER_COOKIE), email)
    wait_s = throttle.wait_s(address, email, known_browser=known)
    if wait_s > 0:
        message = f"Too many failed attempts; try again in {in_words(wait_s)}."
        return login_form(request, message, email, 429, form.get("next"), retry_after_s=wait_s)
    config = request.app.state.runtime.config
    user = config.user_by_email(email) if email else None
    stored = user[1] if user else _DUMMY_HASH
    matches = await asyncio.to_thread(verify_password, form.get("password"), stored)
    if user is None or not matches:
        throttle.failed(address, email)
        return login_form(request, "Wrong email or password.", email, 401, form.get("next"))
    throttle.succeeded(email)
    if sessions.two_factor_store(request).state(user[0]) is not None:
        # The session waits for the code; until then the browser holds a half-done login.
        token = pending_logins(request).begin(user[0], email, stored, form.get("next"))
        response = RedirectResponse("/login/code", status_code=303)
        login_cookie(response, request, PENDING_COOKIE, token, PENDING_TTL_S)
        return response
    return signed_in(request, user[0], email, stored, form.get("next"))


def signed_in(
    request: Request,
    user_id: int,
    email: str,
    password_hash: str,
    next_path: str,
    *,
    second_factor: bool = False,
) -> Response:
    """The answer to a login that passed every check: a new session, and on to `next_path`."""
    _, tokens = login_state(request)
    try:
        token, _ = sessions.access_store(request).open_session(
            user_id, password_hash, second_factor=second_factor
        )
    except ConfigError:  # removed, or a new password set, while this one was being checked
        return login_form(request, "Wrong email or password.", email, 401, next_path)
    response = RedirectResponse(local_path(next_path, "/sites"), status_code=303)
    sessions.set_session_cookie(response, request, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    response.delete_cookie(PENDING_COOKIE, path="/login")
    login_cookie(
        response,
        request,
        KNOWN_BROWSER_COOKIE,
        tokens.known_browser(email, second_factor=second_factor),
        KNOWN_BROWSER_TTL_S,
    )
    return response


def in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds" if seconds != 1 else "1 second"
    return f"{round(seconds / 60)} minutes"


async def logout(request: Request) -> Response:
    try:
        await posted_by_user(request)
    except FormRejected as exc:
        if exc.status != 401:  # a forged or stale post must not log anyone out
            return RedirectResponse("/sites", status_code=303)
    else:
        sessions.access_store(request).close_session(request.cookies[sessions.SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_session_cookie(response)
    return response
