"""Who may read what: resolve a request's credentials to the sites it may read.

Every read endpoint asks `authorize_site` the same question the same way. Credentials, in order:
- `Authorization: Bearer sk_…` — a site's secret key reads its own site;
- `Authorization: Bearer ct_…` — an API token reads the sites it was scoped to;
- `Authorization: Bearer sh_…` — a shared link's token reads its one site, and only reads
  (GET, or a POST to the query API, which is a read);
- the dashboard's session cookie, on same-origin requests only, with the CSRF token for anything
  that changes state; the user reads the sites granted to them (all when none are named).
Public keys read nothing. This module does not store credentials (`config/access.py` does).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.config.access import API_TOKEN_PREFIX, SHARED_LINK_PREFIX
from clycyo.config.store import Site
from clycyo.web import sessions

# POST endpoints that only read (a query body is too large for a URL); a read-only credential
# may use them.
READ_ONLY_POST_PREFIXES = ("/api/v1/query",)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, status_code=self.status)


@dataclass(frozen=True)
class Grant:
    """What a request's credentials allow: these site ids (None: every site), read-only or not."""

    site_ids: frozenset[int] | None
    read_only: bool
    kind: str  # "secret_key", "api_token", "shared_link" or "session"

    def may_read(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids


def is_read_request(request: Request) -> bool:
    if request.method in sessions.SAFE_METHODS:
        return True
    return request.method == "POST" and request.url.path.startswith(READ_ONLY_POST_PREFIXES)


def request_grant(request: Request) -> Grant:
    """The request's credentials, checked; raises ApiError 401/403 when they fail."""
    runtime = request.app.state.runtime
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip()
        access = sessions.access_store(request)
        if token.startswith(API_TOKEN_PREFIX):
            api_token = access.api_token(token)
            if api_token is None:
                raise ApiError(401, "authorization: unknown or revoked API token")
            return Grant(frozenset(api_token.site_ids), read_only=False, kind="api_token")
        if token.startswith(SHARED_LINK_PREFIX):
            link = access.shared_link(token)
            if link is None:
                raise ApiError(401, "authorization: unknown or revoked shared link")
            if not is_read_request(request):
                raise ApiError(403, "authorization: a shared link only reads")
            return Grant(frozenset({link.site_id}), read_only=True, kind="shared_link")
        site = runtime.directory.by_secret_key(token)
        if site is None:
            raise ApiError(401, "authorization: unknown or revoked key")
        return Grant(frozenset({site.id}), read_only=False, kind="secret_key")
    session = sessions.current_session(request)
    if session is None:
        raise ApiError(401, "authorization: a secret key or API token is required")
    if request.method not in sessions.SAFE_METHODS and not sessions.csrf_matches(
        session.csrf_token, request.headers.get(sessions.CSRF_HEADER)
    ):
        raise ApiError(403, "csrf: the X-CSRF-Token header is missing or wrong")
    site_ids = runtime.config.user_site_ids(session.user_id)
    return Grant(None if site_ids is None else frozenset(site_ids), read_only=False, kind="session")


def authorize_site(request: Request, domain: str | None = None) -> Site:
    """The site named by `?site=` (or `domain`), if the request's credentials may read it."""
    runtime = request.app.state.runtime
    wanted = domain or request.query_params.get("site")
    if not wanted:
        raise ApiError(400, "site: required")
    grant = request_grant(request)
    target = runtime.directory.by_domain(wanted.strip().lower().removeprefix("www."))
    if target is None or not grant.may_read(target.id):
        raise ApiError(403, f"site: these credentials cannot read {wanted}")
    return target  # type: ignore[no-any-return]
