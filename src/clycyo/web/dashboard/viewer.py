"""Who is looking at a dashboard page, at which site, and through which door.

Two doors lead to the same views: `/sites/{domain}/…` for a logged-in user (or, on the `.json`
twins, any credential `web/access.py` accepts: API token, secret key) and `/share/{token}/…` for a
read-only shared link. A `Viewer` carries what the views and templates need from that: the site,
the URL prefix for links, whether anything may be changed, what the credential reaches (a shared
link: aggregates only, see `web/access.py`) and the user's other sites. Each view is routed with
the reach it needs, checked here before it runs. A revoked link, an unknown site, a site the
user may not read and a view beyond the credential's reach all look the same from outside (404).
A viewer login (`config/roles.py`) reads as an admin does, read-only; every form post that
changes a site takes its viewer from `form_viewer`, which refuses it (403).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from starlette.requests import Request

from clycyo.config.access import DashboardSession
from clycyo.config.store import Site
from clycyo.web import sessions
from clycyo.web.access import REACHES, VIEWER_ONLY_READS, ApiError, Reach, request_grant


class NotAllowed(Exception):
    """The request may not see this page: `status` 401 (log in first), 403 (a viewer login's
    change) or 404."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    site: Site
    base: str  # URL prefix of this site's views: /sites/DOMAIN or /share/TOKEN
    read_only: bool
    reaches: frozenset[Reach]
    session: DashboardSession | None = None
    sites: tuple[Site, ...] = field(default=())  # the user's sites, for the site switcher

    @property
    def shared(self) -> bool:
        return self.base.startswith("/share/")

    @property
    def reads_persons(self) -> bool:
        return Reach.PERSONS in self.reaches

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""

    def now(self) -> dt.datetime:
        """The site's local time now (naive, as the query layer's time buckets are)."""
        try:
            zone = ZoneInfo(self.site.timezone)
        except (ValueError, KeyError):
            zone = ZoneInfo("UTC")
        return dt.datetime.now(zone).replace(tzinfo=None)

    def today(self) -> dt.date:
        return self.now().date()


def user_sites(request: Request, session: DashboardSession) -> list[Site]:
    runtime = request.app.state.runtime
    allowed = runtime.config.user_site_ids(session.user_id)
    every: list[Site] = runtime.config.sites()
    return [s for s in every if allowed is None or s.id in allowed]


def site_viewer(request: Request, domain: str, reach: Reach) -> Viewer:
    """The viewer of a view of `reach` at `/sites/{domain}/…`; raises NotAllowed."""
    runtime = request.app.state.runtime
    try:
        grant = request_grant(request)
    except ApiError as exc:
        raise NotAllowed(401, exc.message) from None
    site = runtime.directory.by_domain(domain.strip().lower().removeprefix("www."))
    if site is None or not grant.may_read(site.id) or not grant.reaches(reach):
        raise NotAllowed(404, "no such site" if site is None else "no such page")
    session = sessions.current_session(request) if grant.kind == "session" else None
    others = tuple(user_sites(request, session)) if session else ()
    reaches = REACHES[grant.kind]
    return Viewer(site, f"/sites/{site.domain}", grant.read_only, reaches, session, others)


def form_viewer(request: Request, domain: str, session: DashboardSession) -> Viewer:
    """The viewer of a form post by `session` that changes `/sites/{domain}/…`; raises
    NotAllowed (403 for a viewer login, whose sessions change nothing)."""
    site = request.app.state.runtime.directory.by_domain(domain)
    mine = user_sites(request, session)
    if site is None or all(s.id != site.id for s in mine):
        raise NotAllowed(404, "no such site")
    if not session.changes_sites:
        raise NotAllowed(403, VIEWER_ONLY_READS)
    return Viewer(site, f"/sites/{site.domain}", False, REACHES["session"], session, tuple(mine))


def shared_viewer(request: Request, token: str, reach: Reach) -> Viewer:
    """The viewer of a view of `reach` at `/share/{token}/…`: the link's one site, read-only;
    raises NotAllowed."""
    link = sessions.access_store(request).shared_link(token)
    site = None if link is None else request.app.state.runtime.directory.by_id(link.site_id)
    if site is None:
        raise NotAllowed(404, "this link does not exist or was revoked")
    reaches = REACHES["shared_link"]
    if reach not in reaches:
        raise NotAllowed(404, "no such page")
    return Viewer(site, f"/share/{token}", read_only=True, reaches=reaches)
