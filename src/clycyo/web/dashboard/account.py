"""The signed-in user's own page (`/account`): turning two-factor sign-in on and off.

Turning it on shows a fresh secret as a QR code (SVG, drawn here by `segno`, as a `data:` image
the Content-Security-Policy allows) and as text; the form sends that secret back with a code the
user's app made from it, and only a good code stores it. Then the recovery codes are shown, once:
only their hashes are kept. Turning it off asks for a current code, a recovery code or the
password, and wrong ones are limited as at the login (`login_code.code_throttle`). The posts
need the session's CSRF token (`forms.posted_by_user`). Secrets and codes are never logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config import two_factor
from clycyo.config.access import DashboardSession
from clycyo.config.passwords import verify_password
from clycyo.config.store import ConfigError
from clycyo.web import sessions
from clycyo.web.dashboard import rendering
from clycyo.web.dashboard.forms import Form, FormRejected, posted_by_user
from clycyo.web.dashboard.login import client_address, in_words
from clycyo.web.dashboard.login_code import code_throttle

_LOG_IN = "/login?next=%2Faccount"


def _page(request: Request, session: DashboardSession, status: int = 200, **shown: Any) -> Response:
    state = sessions.two_factor_store(request).state(session.user_id)
    data: dict[str, Any] = {
        "session": session,
        "two_factor": state,
        "error": "",
        "notice": "",
        "recovery_codes": [],
        **shown,
    }
    if state is not None:
        enabled_at = dt.datetime.fromtimestamp(state.enabled_at, dt.UTC)
        data["enabled_at"] = enabled_at.strftime("%Y-%m-%d %H:%M")
    else:
        secret = data.get("secret") or two_factor.new_secret()
        uri = two_factor.provisioning_uri(secret, session.email)
        qr = segno.make(uri, error="m")
        data["secret"] = secret
        data["secret_groups"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        data["qr"] = qr.svg_data_uri(scale=5, dark="#000", light="#fff")
    return rendering.render_html(request, "account.html", data, status)


async def account_page(request: Request) -> Response:
    session = sessions.current_session(request)
    if session is None:
        return RedirectResponse(_LOG_IN, status_code=303)
    return _page(request, session)


async def _posted(request: Request) -> tuple[DashboardSession, Form] | Response:
    try:
        return await posted_by_user(request)
    except FormRejected as exc:
        target = _LOG_IN if exc.status == 401 else "/account"
        return RedirectResponse(target, status_code=303)


async def turn_on(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    secret = form.get("secret")
    if not two_factor.is_secret(secret):
        return _page(request, session, 400, error="The form was damaged; scan the new code.")
    step = two_factor.code_step(secret, form.get("code"))
    if step is None:
        error = "Wrong code: type the one your app shows now."
        return _page(request, session, 400, secret=secret, error=error)
    codes = two_factor.new_recovery_codes()
    hashes = await asyncio.to_thread(two_factor.hash_recovery_codes, codes)
    kept = request.cookies.get(sessions.SESSION_COOKIE)
    try:
        sessions.two_factor_store(request).turn_on(session.user_id, secret, step, hashes, kept)
    except ConfigError as exc:
        return _page(request, session, 400, error=str(exc))
    return _page(request, session, recovery_codes=codes)


async def turn_off(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    throttle = code_throttle(request)
    address = client_address(request)
    wait_s = throttle.wait_s(address, session.email, known_browser=False)
    if wait_s > 0:
        message = f"Too many wrong attempts; try again in {in_words(wait_s)}."
        response = _page(request, session, 429, error=message)
        response.headers["Retry-After"] = str(wait_s)
        return response
    if not await asyncio.to_thread(_confirmed, request, session, form):
        throttle.failed(address, session.email)
        return _page(request, session, 401, error="Wrong code or password: still on.")
    throttle.succeeded(session.email)
    sessions.two_factor_store(request).turn_off(session.user_id)
    return _page(request, session, notice="Two-factor sign-in is off.")


def _confirmed(request: Request, session: DashboardSession, form: Form) -> bool:
    """Whether the form proves the user is the login's owner: a code, or the password."""
    password = form.fields.get("password", "")
    if password:
        found = request.app.state.runtime.config.user_by_email(session.email)
        return found is not None and verify_password(password, found[1])
    used = sessions.two_factor_store(request).check(session.user_id, form.get("code"))
    return used in ("app", "recovery")
