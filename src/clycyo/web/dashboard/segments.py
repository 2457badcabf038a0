"""Segments on the dashboard: the overview's Segments menu (each segment a link to the view with
exactly its filters, the period, comparison and chart kept), the form that saves the view's
filters under a name, and deleting one.

Only a logged-in user sees the site's segments (a shared link or an API token reading the
`.json` twin does not: a segment's name is the team's own words). Saving and deleting are form
posts with the page's CSRF token by a login that may change the site (`settings.site_form`; a
viewer login uses segments and is refused the posts). A post names the view it came from
(`view`, its query string), which it returns to; a name or filter that is not one is answered
with the reason and a link back, nothing saved (`config/segments.py` checks them). This module
renders no markup of its own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.goals import PageGoalStore
from clycyo.config.segments import MAX_NAME_CHARS, Segment, SegmentError, SegmentStore
from clycyo.web.dashboard import rendering
from clycyo.web.dashboard.params import Filter, ViewState, parse_filter
from clycyo.web.dashboard.routing import not_allowed
from clycyo.web.dashboard.settings import not_deleted, site_form
from clycyo.web.dashboard.viewer import NotAllowed, Viewer


def view_filters(segment: Segment) -> tuple[Filter, ...] | None:
    """The segment's filters as a view's (`f=OPERATOR,DIMENSION,VALUE`), None when one has no
    such form (several values, an operator the dashboard does not offer)."""
    shown = []
    for op, dimension, values in segment.filters:
        parsed = parse_filter(f"{op},{dimension},{values[0]}") if len(values) == 1 else None
        if parsed is None or parsed.value != values[0]:
            return None
        shown.append(parsed)
    return tuple(shown)


def segment_data(runtime: Any, viewer: Viewer, state: ViewState) -> dict[str, Any]:
    """The menu's part of a view's data (and of its `.json` twin)."""
    session = viewer.session
    if session is None:
        return {"segments": [], "segments_editable": False, "max_segment_chars": MAX_NAME_CHARS}
    current = set(state.filters)
    listed = []
    for segment in SegmentStore(runtime.config).list(viewer.site.id):
        filters = view_filters(segment)
        listed.append(
            {
                "id": segment.id,
                "name": segment.name,
                "filters": segment.query_filters(),
                "params": None if filters is None else state.params(filters=filters),
                "current": filters is not None and set(filters) == current,
            }
        )
    return {
        "segments": listed,
        "segments_editable": session.changes_sites and not viewer.read_only,
        "max_segment_chars": MAX_NAME_CHARS,
    }


def _view(viewer: Viewer, fields: dict[str, str]) -> tuple[str, list[str]]:
    """The URL of the view a post came from, and its filters (`f`) as given."""
    pairs = parse_qsl(fields.get("view", ""), keep_blank_values=True)
    query = urlencode(pairs)
    return viewer.base + (f"?{query}" if query else ""), [v for k, v in pairs if k == "f"]


def _refused(request: Request, reason: str, back: str) -> Response:
    data = {"message": reason, "status": 400, "heading": "Segment not saved", "back": back}
    return rendering.render_html(request, "error.html", data, 400)


@site_form
async def save_segment(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    back, given = _view(viewer, fields)
    parsed = [parse_filter(text) for text in given]
    filters = [f.as_query() for f in parsed if f is not None]
    if not filters:
        return _refused(request, "filters: choose at least one filter first", back)
    if viewer.session is None:  # a form post's viewer has its session
        return not_allowed(request, NotAllowed(401, "log in first"), False)
    runtime = request.app.state.runtime
    try:
        SegmentStore(runtime.config).add(
            viewer.site.id,
            fields.get("name", ""),
            filters,
            created_by=viewer.session.email,
            page_goals=PageGoalStore(runtime.config).patterns(viewer.site.id),
        )
    except SegmentError as exc:
        return _refused(request, str(exc), back)
    return RedirectResponse(back, status_code=303)


@site_form
async def delete_segment(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    store = SegmentStore(request.app.state.runtime.config)
    missing = not_deleted(request, viewer, store, fields, "segment")
    return missing or RedirectResponse(_view(viewer, fields)[0], status_code=303)
