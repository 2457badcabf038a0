"""Logging in and out of the dashboard.

The login form is protected against cross-site posting by a double-submit token (a cookie and a
hidden field that must match), because there is no session yet to hold a CSRF token. Failed
attempts are counted per email address and the address is locked for a while after too many, so
passwords cannot be guessed at scrypt's speed; an unknown address costs the same hashing time as
a known one, so response times do not tell which addresses have a login.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.passwords import hash_password, verify_password
from clycyo.web import sessions
from clycyo.web.dashboard import rendering
from clycyo.web.dashboard.forms import FormRejected, local_path, posted_by_user, read_form

MAX_FAILURES = 10
LOCKOUT_S = 15 * 60
MAX_TRACKED_EMAILS = 100_000
_DUMMY_HASH = hash_password("not a password anyone has")


class LoginThrottle:
    """Failed logins per email address, in memory: a restart forgets them, which is fine."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}  # email -> (count, first failure)

    def locked(self, email: str) -> bool:
        count, since = self._failures.get(email, (0, 0.0))
        if time.monotonic() - since > LOCKOUT_S:
            self._failures.pop(email, None)
            return False
        return count >= MAX_FAILURES

    def failed(self, email: str) -> None:
        if len(self._failures) > MAX_TRACKED_EMAILS:
            self._failures.clear()
        count, since = self._failures.get(email, (0, time.monotonic()))
        self._failures[email] = (count + 1, since)

    def succeeded(self, email: str) -> None:
        self._failures.pop(email, None)


def _throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle()
        state.login_throttle = throttle
    return throttle


def _form(
    request: Request, error: str = "", email: str = "", status: int = 200, next_path: str = ""
) -> Response:
    token = sessions.login_csrf_token(request)
    next_path = local_path(next_path or request.query_params.get("next", ""), "")
    data = {"error": error, "email": email, "csrf": token, "next": next_path}
    response = rendering.render_html(request, "login.html", data, status)
    sessions.set_login_csrf_cookie(response, request, token)
    return response


async def login_page(request: Request) -> Response:
    if sessions.current_session(request) is not None:
        target = local_path(request.query_params.get("next", ""), "/sites")
        return RedirectResponse(target, status_code=303)
    return _form(request)


async def login(request: Request) -> Response:
    try:
        form = await read_form(request)
    except FormRejected as exc:
        return _form(request, exc.message, status=exc.status)
    email = form.get("email").lower()
    expected = request.cookies.get(sessions.LOGIN_CSRF_COOKIE, "")
    if not sessions.csrf_matches(expected, form.get(sessions.CSRF_FIELD)):
        return _form(request, "The form expired; please try again.", email, 403, form.get("next"))
    throttle = _throttle(request)
    if throttle.locked(email):
        message = "Too many failed attempts; try again later."
        return _form(request, message, email, 429, form.get("next"))
    config = request.app.state.runtime.config
    user = config.user_by_email(email) if email else None
    stored = user[1] if user else _DUMMY_HASH
    matches = await asyncio.to_thread(verify_password, form.get("password"), stored)
    if user is None or not matches:
        throttle.failed(email)
        return _form(request, "Wrong email or password.", email, 401, form.get("next"))
    throttle.succeeded(email)
    token, _ = sessions.access_store(request).open_session(user[0])
    response = RedirectResponse(local_path(form.get("next"), "/sites"), status_code=303)
    sessions.set_session_cookie(response, request, token)
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path="/login")
    return response


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
