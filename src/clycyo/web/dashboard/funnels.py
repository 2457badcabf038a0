"""Funnels: define the steps, see how many persons reach each and where they drop off.

Definitions are kept per site (`config/funnels.py`); the counting is the query layer's, through
`stats.py`. Each step opens to the persons who reached it (or dropped after it), and from there to
each person's timeline. Shared links see funnels but not the persons behind them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.funnels import MAX_STEPS, Funnel, FunnelError, FunnelStore, check_step
from clycyo.web.dashboard import stats
from clycyo.web.dashboard.forms import FormRejected, posted_by_user
from clycyo.web.dashboard.params import stored_id
from clycyo.web.dashboard.routing import Page, ViewContext, not_allowed, render_view
from clycyo.web.dashboard.viewer import NotAllowed, form_viewer

PERSONS_SHOWN = 100
MAX_PERSONS_SHOWN = 10_000  # as many as the query layer lists at once
# A step is a set of events, so its filters are on event dimensions (the view's period and
# filters narrow the whole funnel).
FILTER_DIMENSIONS = {
    "event:page": "Page",
    "event:hostname": "Hostname",
    "event:origin": "Origin (browser or server)",
}
PROPS_PREFIX = "event:props:"
WINDOWS = {"1h": "1 hour", "1d": "1 day", "7d": "7 days", "30d": "30 days"}
DEFAULT_WINDOW = "1d"


def funnel_store(request: Request) -> FunnelStore:
    state = request.app.state
    store: FunnelStore | None = getattr(state, "funnels", None)
    if store is None:
        store = FunnelStore(state.runtime.config)
        state.funnels = store
    return store


def _listing(ctx: ViewContext, error: str = "", form: dict[str, Any] | None = None) -> Page:
    saved = funnel_store(ctx.request).list(ctx.viewer.site.id)
    return Page(
        "funnels.html",
        {
            "site": ctx.viewer.site.domain,
            "funnels": [
                {
                    "id": f.id,
                    "name": f.name,
                    "steps": [s.label for s in f.steps],
                    "url": f"{ctx.viewer.base}/funnels/{f.id}",
                }
                for f in saved
            ],
            "_error": error,
            "_form": form or {},
            "_max_steps": MAX_STEPS,
            "_filter_dimensions": FILTER_DIMENSIONS,
        },
        status=400 if error else 200,
    )


def funnel_list(ctx: ViewContext) -> Page:
    return _listing(ctx)


def _the_funnel(ctx: ViewContext) -> Funnel:
    funnel_id = stored_id(ctx.path_params["funnel_id"])
    funnel = (
        None if funnel_id is None else funnel_store(ctx.request).get(ctx.viewer.site.id, funnel_id)
    )
    if funnel is None:
        raise NotAllowed(404, "no such funnel")
    return funnel


def _window(ctx: ViewContext) -> str:
    window = ctx.query.get("window", DEFAULT_WINDOW)
    return window if window in WINDOWS else DEFAULT_WINDOW


def funnel_view(ctx: ViewContext) -> Page:
    funnel = _the_funnel(ctx)
    body = stats.funnel_body(funnel.steps, ctx.state, _window(ctx))
    counted = stats.funnel(ctx.runtime, ctx.viewer.site, body)
    steps = []
    for index, (step, found) in enumerate(zip(funnel.steps, counted, strict=True)):
        steps.append(
            {
                "step": index + 1,
                "label": step.label,
                "definition": step.as_dict(),
                "visitors": found["visitors"],
                "conversion": found["conversion_rate"],
                "from_previous": found["step_conversion_rate"],
                "dropped": found["dropoff"],
                "persons": f"{ctx.viewer.base}/funnels/{funnel.id}/steps/{index + 1}"
                if ctx.viewer.reads_persons
                else None,
            }
        )
    return Page(
        "funnel.html",
        {
            "funnel": {"id": funnel.id, "name": funnel.name},
            "window": body["window"],
            "windows": WINDOWS,
            "steps": steps,
            "conversion": steps[-1]["conversion"] if steps else None,
            "query": body,
        },
    )


def step_persons(ctx: ViewContext) -> Page:
    funnel = _the_funnel(ctx)
    number = int(ctx.path_params["step"])
    if not 1 <= number <= len(funnel.steps):
        raise NotAllowed(404, "no such step")
    dropped = ctx.query.get("dropped") == "1" and number < len(funnel.steps)
    try:
        limit = max(1, min(int(ctx.query.get("limit", PERSONS_SHOWN)), MAX_PERSONS_SHOWN))
    except ValueError:
        limit = PERSONS_SHOWN
    body = stats.funnel_body(funnel.steps, ctx.state, _window(ctx))
    reached = [s["visitors"] for s in stats.funnel(ctx.runtime, ctx.viewer.site, body)]
    total = reached[number - 1] - (reached[number] if dropped else 0)
    persons = stats.funnel_persons(
        ctx.runtime, ctx.viewer.site, body, step=number, dropped=dropped, limit=limit
    )
    more = min(total, MAX_PERSONS_SHOWN) if len(persons) < total else None
    return Page(
        "funnel_step.html",
        {
            "funnel": {"id": funnel.id, "name": funnel.name},
            "step": number,
            "label": funnel.steps[number - 1].label,
            "dropped": dropped,
            "total": total,
            "limit": limit,
            "persons": [
                {**p, "url": f"{ctx.viewer.base}/people/{quote(str(p['id']), safe='')}"}
                for p in persons
            ],
            "more": None if more is None or more <= len(persons) else more,
            "query": body,
        },
    )


def _steps_from(form_lists: dict[str, list[str]]) -> list[Any]:
    kinds, matches = form_lists.get("kind", []), form_lists.get("match", [])
    dims, ops, values = (
        form_lists.get(k, []) for k in ("filter_dimension", "filter_op", "filter_value")
    )
    steps = []
    for index, (kind, match) in enumerate(zip(kinds, matches, strict=False)):
        if not match.strip():
            continue  # the form offers more rows than most funnels use
        value = values[index].strip() if index < len(values) else ""
        dimension = dims[index] if index < len(dims) else ""
        if (
            dimension
            and dimension not in FILTER_DIMENSIONS
            and not (dimension.startswith(PROPS_PREFIX) and len(dimension) > len(PROPS_PREFIX))
        ):
            raise FunnelError(f"step {index + 1}: cannot filter on {dimension!r}")
        op = ops[index] if index < len(ops) else "is"
        filters = [(op, dimension, value)] if dimension and value else []
        steps.append(check_step(kind, match, filters))
    return steps


async def create_funnel(request: Request) -> Response:
    try:
        session, form = await posted_by_user(request)
        viewer = form_viewer(request, request.path_params["domain"], session)
    except (FormRejected, NotAllowed) as exc:
        page = f"/sites/{quote(request.path_params['domain'], safe='')}/funnels"
        return not_allowed(request, NotAllowed(exc.status, exc.message), False, page=page)
    try:
        steps = _steps_from(form.lists)
        funnel = funnel_store(request).add(viewer.site.id, form.get("name"), steps)
    except FunnelError as exc:
        message = str(exc)
        return await render_view(
            request, viewer, "funnels", lambda ctx: _listing(ctx, message, form.fields)
        )
    return RedirectResponse(f"{viewer.base}/funnels/{funnel.id}", status_code=303)


async def delete_funnel(request: Request) -> Response:
    try:
        session, _ = await posted_by_user(request)
        viewer = form_viewer(request, request.path_params["domain"], session)
    except (FormRejected, NotAllowed) as exc:
        domain = quote(request.path_params["domain"], safe="")
        page = f"/sites/{domain}/funnels/{request.path_params['funnel_id']}"
        return not_allowed(request, NotAllowed(exc.status, exc.message), False, page=page)
    funnel_id = stored_id(request.path_params["funnel_id"])
    if funnel_id is not None:
        funnel_store(request).delete(viewer.site.id, funnel_id)
    return RedirectResponse(f"{viewer.base}/funnels", status_code=303)
