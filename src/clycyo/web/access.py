"""Who may read what: resolve a request's credentials to the sites it may read.

Every read endpoint asks `authorize_site` the same question the same way. Credentials, in order:
- `Authorization: Bearer sk_…` — a site's secret key reads its own site;
- `Authorization: Bearer ct_…` — an API token reads the sites it was scoped to;
- `Authorization: Bearer sh_…` — a shared link's token reads its one site, and only reads
  (GET, or a POST to the query API, which is a read);
- the dashboard's session cookie, on same-origin requests only, with the CSRF token for anything
  that changes state; the user reads the sites granted to them (all when none are named), and a
  login whose role is `viewer` (`config/roles.py`) only reads, as a shared link does.
Public keys read nothing. This module does not store credentials (`config/access.py` does).

Which sites a credential reads is one question; what it may see of them is the other, answered
here once for every endpoint: each request has a `Reach` (aggregates, persons, settings,
erasure, annotations), and each kind of credential reaches a fixed set of them (`REACHES`). An
API endpoint's reach follows from its method and path, and any path not declared aggregate counts
as reading persons, so a new endpoint is closed to shared links unless it is declared otherwise;
a dashboard view declares its reach where it is routed (`dashboard/routing.py`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.config.access import API_TOKEN_PREFIX, SHARED_LINK_PREFIX
from clycyo.config.store import Site
from clycyo.web import sessions

# POST endpoints that only read (a query body is too large for a URL); a read-only credential
# may use them.
READ_ONLY_POST_PREFIXES = ("/api/v1/query",)


class Reach(enum.Enum):
    """What a request reads or changes of a site."""

    AGGREGATES = "aggregates"  # counts, rates and sums: what a shared dashboard shows
    PERSONS = "persons"  # who did what: people, timelines, a funnel step's persons, raw events
    SETTINGS = "settings"  # the settings page: the snippet, shared links and API tokens
    ERASE = "erase"  # erasing a person's events and identities
    ANNOTATIONS = "annotations"  # adding and deleting the notes marked on the chart


REACHES: dict[str, frozenset[Reach]] = {
    "secret_key": frozenset({Reach.AGGREGATES, Reach.PERSONS, Reach.ERASE, Reach.ANNOTATIONS}),
    # The people endpoints take the query API's credentials (CONTRACT §6), erasure included.
    "api_token": frozenset({Reach.AGGREGATES, Reach.PERSONS, Reach.ERASE, Reach.ANNOTATIONS}),
    "session": frozenset({Reach.AGGREGATES, Reach.PERSONS, Reach.SETTINGS, Reach.ANNOTATIONS}),
    "shared_link": frozenset({Reach.AGGREGATES}),
}
# The site endpoints of the API that answer only aggregates (the query API and its reports, the
# realtime counts); every other one names persons or carries their events.
AGGREGATE_PATHS = frozenset(
    {
        "/api/v1/query",
        "/api/v1/query/funnel",
        "/api/v1/query/retention",
        "/api/v1/query/journeys",
        "/api/v1/realtime",
    }
)
VIEWER_ONLY_READS = "authorization: a viewer login only reads; an admin login can change this"
# Adding and deleting annotations; listing them reads who made each, as persons' reads do.
ANNOTATIONS_PATH = "/api/v1/annotations"
_CREDENTIAL_NAMES = {
    "secret_key": "a secret key",
    "api_token": "an API token",
    "session": "a dashboard login",
    "shared_link": "a shared link",
}
_REACH_VERBS = {
    Reach.AGGREGATES: "read this site",
    Reach.PERSONS: "read persons",
    Reach.SETTINGS: "manage settings",
    Reach.ERASE: "erase persons (the site's secret key or an API token can)",
    Reach.ANNOTATIONS: "add or delete annotations",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, status_code=self.status)


@dataclass(frozen=True)
class Grant:
    """What a request's credentials allow: these site ids (None: every site), read-only or not
    (a shared link, a viewer login)."""

    site_ids: frozenset[int] | None
    read_only: bool
    kind: str  # "secret_key", "api_token", "shared_link" or "session"

    def may_read(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def reaches(self, reach: Reach) -> bool:
        return reach in REACHES[self.kind]


def refusal(kind: str, reach: Reach) -> str:
    """Why a credential of `kind` is refused a request of `reach`."""
    return f"authorization: {_CREDENTIAL_NAMES[kind]} cannot {_REACH_VERBS[reach]}"


def request_reach(request: Request) -> Reach:
    """The reach of a request to a site endpoint of the API, from its method and path."""
    path = request.url.path
    if request.method != "GET" and (
        path == ANNOTATIONS_PATH or path.startswith(ANNOTATIONS_PATH + "/")
    ):
        return Reach.ANNOTATIONS
    if request.method == "DELETE":
        return Reach.ERASE
    if path in AGGREGATE_PATHS:
        return Reach.AGGREGATES
    return Reach.PERSONS


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
    read_only = not session.changes_sites
    if read_only and not is_read_request(request):
        raise ApiError(403, VIEWER_ONLY_READS)
    site_ids = runtime.config.user_site_ids(session.user_id)
    return Grant(
        None if site_ids is None else frozenset(site_ids), read_only=read_only, kind="session"
    )


def authorize_site(request: Request, domain: str | None = None) -> Site:
    """The site named by `?site=` (or `domain`), if the request's credentials may read it and
    reach what the request asks (`request_reach`)."""
    runtime = request.app.state.runtime
    wanted = domain or request.query_params.get("site")
    if not wanted:
        raise ApiError(400, "site: required")
    grant = request_grant(request)
    reach = request_reach(request)
    if not grant.reaches(reach):
        raise ApiError(403, refusal(grant.kind, reach))
    target = runtime.directory.by_domain(wanted.strip().lower().removeprefix("www."))
    if target is None or not grant.may_read(target.id):
        raise ApiError(403, f"site: these credentials cannot read {wanted}")
    return target  # type: ignore[no-any-return]
