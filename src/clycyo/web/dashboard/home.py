"""The dashboard's front door: `/` and the list of sites a login may see (`/sites`, `.json`).

A user with one site goes straight to it. Nothing here reads events.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.store import normalize_domain
from clycyo.web import sessions
from clycyo.web.access import ApiError, request_grant
from clycyo.web.dashboard import rendering


async def index(request: Request) -> Response:
    target = "/sites" if sessions.current_session(request) else "/login"
    return RedirectResponse(target, status_code=303)


async def sites_page(request: Request) -> Response:
    as_json = request.url.path.endswith(".json")
    try:
        grant = request_grant(request)
    except ApiError as exc:
        if as_json:
            return rendering.render_json({"error": exc.message}, exc.status)
        return RedirectResponse("/login?next=%2Fsites", status_code=303)
    runtime = request.app.state.runtime
    sites = [s for s in runtime.config.sites() if grant.may_read(s.id)]
    data = {"sites": [{"site": s.domain, "url": f"/sites/{s.domain}"} for s in sites]}
    if as_json:
        return rendering.render_json(data)
    if len(sites) == 1 and "all" not in request.query_params:
        return RedirectResponse(f"/sites/{sites[0].domain}", status_code=303)
    session = sessions.current_session(request)
    return rendering.render_html(request, "sites.html", {**data, "session": session})


async def switch_site(request: Request) -> Response:
    """The site switcher's target (a GET form): on to the chosen site's overview, with the same
    period and filters."""
    try:
        domain = normalize_domain(request.query_params.get("site", ""))
    except ValueError:
        return RedirectResponse("/sites?all", status_code=303)
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "site"])
    return RedirectResponse(f"/sites/{domain}" + (f"?{kept}" if kept else ""), status_code=303)
