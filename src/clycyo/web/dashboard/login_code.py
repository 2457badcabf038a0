"""The login's second step: the code of an authenticator app, or a recovery code.

Reached only with the cookie of a half-done login (`login_pending.py`), and sent with the login
form's signed CSRF token. Wrong codes are limited as wrong passwords are, per client address and
per account (a `LoginThrottle` of their own, so a password's failures and a code's do not add
up; only a browser known from a login with a code skips the account's delay), and a half-done
login ends after 5 of them. The session is opened only here, once the code
is good (`login.signed_in`). Codes are never logged or shown back.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.web import sessions
from clycyo.web.dashboard.forms import FormRejected, read_form
from clycyo.web.dashboard.login import (
    KNOWN_BROWSER_COOKIE,
    client_address,
    form_page,
    form_posted,
    in_words,
    login_form,
    login_state,
    pending_logins,
    signed_in,
)
from clycyo.web.dashboard.login_pending import PENDING_COOKIE
from clycyo.web.dashboard.login_throttle import LoginThrottle

_EXPIRED = "Your sign-in expired; please enter your password again."


def code_throttle(request: Request) -> LoginThrottle:
    return sessions.server_state(request, "code_throttle", LoginThrottle)


def _code_form(request: Request, error: str = "", status: int = 200, wait_s: int = 0) -> Response:
    return form_page(request, "login_code.html", {"error": error}, status, wait_s)


def _start_again(request: Request, message: str, email: str = "", next_path: str = "") -> Response:
    response = login_form(request, message, email, 401, next_path)
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


async def code_page(request: Request) -> Response:
    if pending_logins(request).get(request.cookies.get(PENDING_COOKIE)) is None:
        return RedirectResponse("/login", status_code=303)
    return _code_form(request)


async def check_code(request: Request) -> Response:
    try:
        form = await read_form(request)
    except FormRejected as exc:
        return _code_form(request, exc.message, exc.status)
    token = request.cookies.get(PENDING_COOKIE, "")
    pending = pending_logins(request).get(token)
    if pending is None:
        return _start_again(request, _EXPIRED)
    if not form_posted(request, form.get(sessions.CSRF_FIELD)):
        return _code_form(request, "The form expired; please try again.", 403)
    throttle = code_throttle(request)
    _, tokens = login_state(request)
    address = client_address(request)
    cookie = request.cookies.get(KNOWN_BROWSER_COOKIE)
    known = tokens.is_known_browser(cookie, pending.email, second_factor=True)
    wait_s = throttle.wait_s(address, pending.email, known_browser=known)
    if wait_s > 0:
        message = f"Too many wrong codes; try again in {in_words(wait_s)}."
        return _code_form(request, message, 429, wait_s)
    store = sessions.two_factor_store(request)
    used = await asyncio.to_thread(store.check, pending.user_id, form.get("code"))
    if used not in ("app", "recovery"):
        throttle.failed(address, pending.email)
        if pending_logins(request).wrong_code(token):
            message = "Too many wrong codes; please enter your password again."
            return _start_again(request, message, pending.email, pending.next_path)
        if used == "used":
            return _code_form(request, "That code was used already; wait for the next one.", 401)
        return _code_form(request, "Wrong code.", 401)
    throttle.succeeded(pending.email)
    pending_logins(request).end(token)
    return signed_in(
        request,
        pending.user_id,
        pending.email,
        pending.password_hash,
        pending.next_path,
        second_factor=True,
    )
