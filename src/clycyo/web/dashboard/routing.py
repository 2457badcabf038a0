"""How a dashboard view becomes four routes: HTML and `.json`, under `/sites/…` and `/share/…`.

A view is a plain function of a `ViewContext` returning a `Page` (a template and its data); it
runs in a worker thread because it waits on the event store. The wrapper here resolves the viewer
(credentials), parses the view state from the query string and picks the representation, so no
view repeats that and none can forget it. Every view is routed with the `Reach` it needs (persons,
settings or only aggregates); the viewer is refused before the view runs when its credential does
not reach that far, and a view beyond a shared link's reach has no `/share/…` route at all.
A download (`download_routes`) is a view that answers with a file of its own making, under the
same two prefixes and the same checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from clycyo.runtime import Runtime
from clycyo.web.access import REACHES, Reach
from clycyo.web.dashboard import rendering
from clycyo.web.dashboard.params import OutOfRange, ViewState, view_state
from clycyo.web.dashboard.stats import QueryFailed
from clycyo.web.dashboard.viewer import NotAllowed, Viewer, shared_viewer, site_viewer

# Metrics the chart may show (`?metric=`); the query layer defines what they mean.
CHART_METRICS = {
    "visitors",
    "visits",
    "pageviews",
    "bounce_rate",
    "visit_duration",
    "conversions",
    "events",  # with a goal: its total conversions
    "conversion_rate",
    "revenue",
}


@dataclass
class ViewContext:
    request: Request  # read-only use from the view's thread: headers, URL, app state
    runtime: Runtime
    viewer: Viewer
    state: ViewState
    query: dict[str, str]
    path_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    template: str
    data: dict[str, Any]
    status: int = 200


View = Callable[[ViewContext], Page]


def not_allowed(
    request: Request, exc: NotAllowed, as_json: bool, *, page: str | None = None
) -> Response:
    """The refusal `exc` as JSON, an error page, or (401) the login form, which leads back to
    `page` (default: this URL; a form post names the page that holds the form, as the post's
    own URL answers only posts)."""
    if as_json:
        return rendering.render_json({"error": exc.message}, exc.status)
    if exc.status == 401:
        target = page or request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return rendering.render_html(
        request, "error.html", {"message": exc.message, "status": exc.status}, exc.status
    )


def view_context(request: Request, viewer: Viewer) -> ViewContext:
    """What a view of `viewer` is asked: the view state and the rest of the query string;
    raises OutOfRange."""
    params = {k: v for k, v in request.path_params.items() if k not in ("domain", "token")}
    query = dict(request.query_params)
    state = view_state(query, request.query_params.multi_items(), viewer.today(), CHART_METRICS)
    return ViewContext(request, request.app.state.runtime, viewer, state, query, params)


async def render_view(
    request: Request, viewer: Viewer, section: str, view: View, *, as_json: bool = False
) -> Response:
    """Run `view` for `viewer` (in a worker thread) and render its page as HTML or JSON."""
    try:
        context = view_context(request, viewer)
    except OutOfRange as exc:
        return not_allowed(request, NotAllowed(400, str(exc)), as_json)
    state = context.state
    try:
        page = await asyncio.to_thread(view, context)
    except NotAllowed as exc:
        return not_allowed(request, exc, as_json)
    except QueryFailed as exc:
        return not_allowed(request, NotAllowed(400, f"query: {exc}"), as_json)
    if as_json:
        return rendering.render_json(page.data, page.status)
    data = {**page.data, "_viewer": viewer, "_state": state, "_section": section}
    return rendering.render_html(request, page.template, data, page.status)


def _viewer(request: Request, reach: Reach, *, shared: bool) -> Viewer:
    """The viewer of a request under `/share/{token}` or `/sites/{domain}`; raises NotAllowed."""
    if shared:
        return shared_viewer(request, request.path_params["token"], reach)
    return site_viewer(request, request.path_params["domain"], reach)


def _endpoint(view: View, section: str, reach: Reach, *, shared: bool, as_json: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            viewer = _viewer(request, reach, shared=shared)
        except NotAllowed as exc:
            return not_allowed(request, exc, as_json)
        return await render_view(request, viewer, section, view, as_json=as_json)

    return endpoint


def _prefixes(reach: Reach) -> list[tuple[str, bool]]:
    """Where a view of `reach` is routed: under a site's prefix, and a shared link's if it
    reaches that far."""
    shared = reach in REACHES["shared_link"]
    return [("/sites/{domain}", False)] + ([("/share/{token}", True)] if shared else [])


def view_routes(path: str, view: View, section: str, *, reach: Reach) -> list[Route]:
    """Routes for `view`, which needs `reach`, at `path` below a site's prefix ("" for the site's
    main view)."""
    routes = []
    for prefix, is_shared in _prefixes(reach):
        # The `.json` route goes first: `{domain}` would otherwise swallow the suffix.
        for as_json, suffix in ((True, ".json"), (False, "")):
            endpoint = _endpoint(view, section, reach, shared=is_shared, as_json=as_json)
            routes.append(Route(prefix + path + suffix, endpoint, methods=["GET"]))
    return routes


def json_routes(path: str, view: View, section: str, *, reach: Reach) -> list[Route]:
    """Only the `.json` routes of `view` (data with no page of its own) at `path` + `.json`."""
    return [
        Route(
            prefix + path + ".json",
            _endpoint(view, section, reach, shared=is_shared, as_json=True),
            methods=["GET"],
        )
        for prefix, is_shared in _prefixes(reach)
    ]


Download = Callable[[ViewContext], Response]


def _download_endpoint(download: Download, reach: Reach, *, shared: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            viewer = _viewer(request, reach, shared=shared)
            context = view_context(request, viewer)
            return await asyncio.to_thread(download, context)
        except OutOfRange as exc:
            return not_allowed(request, NotAllowed(400, str(exc)), False)
        except NotAllowed as exc:
            return not_allowed(request, exc, False)
        except QueryFailed as exc:
            return not_allowed(request, NotAllowed(400, f"query: {exc}"), False)

    return endpoint


def download_routes(path: str, download: Download, *, reach: Reach) -> list[Route]:
    """GET routes for `download` (a view that makes its own response, a file), which needs
    `reach`, at `path` below a site's prefix; refusals read as a view's HTML ones."""
    return [
        Route(prefix + path, _download_endpoint(download, reach, shared=shared), methods=["GET"])
        for prefix, shared in _prefixes(reach)
    ]
