"""Reading the dashboard's HTML form posts, and the checks every state-changing post needs.

Forms are `application/x-www-form-urlencoded` (the dashboard uploads no files), read here with
a size cap rather than through a multipart parser. A post that changes something must come from
a logged-in user's same-origin page and carry that session's CSRF token; `posted_by_user` is the
one place that checks both. This module decides nothing about which site a user may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

from clycyo.config.access import DashboardSession
from clycyo.web import sessions

MAX_FORM_BYTES = 64 * 1024


class FormRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Form:
    fields: dict[str, str]
    lists: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default).strip()

    def getlist(self, name: str) -> list[str]:
        return self.lists.get(name, [])


async def read_form(request: Request) -> Form:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise FormRejected(415, "expected a form post")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRejected(413, "form too large")
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    lists: dict[str, list[str]] = {}
    for name, value in pairs:
        lists.setdefault(name, []).append(value)
    return Form({name: values[-1] for name, values in lists.items()}, lists)


async def posted_by_user(request: Request) -> tuple[DashboardSession, Form]:
    """The session and form of a same-origin post with the right CSRF token, or FormRejected."""
    session = sessions.current_session(request)
    if session is None:
        raise FormRejected(401, "log in first")
    form = await read_form(request)
    if not sessions.csrf_matches(session.csrf_token, form.get(sessions.CSRF_FIELD)):
        raise FormRejected(403, "the form expired; reload the page and try again")
    return session, form


def local_path(target: str, default: str) -> str:
    """`target` if it is a path on this server (never another host), else `default`."""
    parts = urlsplit(target)
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or parts.scheme
        or parts.netloc
    ):
        return default
    return target
