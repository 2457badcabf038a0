"""A site's settings page: the tracker snippet, the reporting currency and time zone, the page
goals, the shields, annotations and email reports (their forms are `annotations.py`'s and
`email_reports.py`'s), read-only shared links, API tokens and the site's secret keys.

A changed currency or time zone applies to every report from the next request on (the same
setting `clycyo site set` changes); a value that is not one is answered with the page and the
reason, nothing changed, and so is a page goal's pattern or a shield's rule that is not one
(`config/goals.py`, `config/shields.py`). A page goal added or deleted is in the next query's
goals; a shield applies to this process's next event, and to the collectors' within a second.
The page offers no "add my address" button: it would have to show the address it was reached
from, which is not the one visitors are seen from behind a proxy. A new link's or token's
secret is shown once, in the answer to the post that made it (only its hash is kept), so these
posts render the page instead of redirecting.
Revoking takes effect on the next request (a secret key's on the collectors' too, within a
second); the site's last live secret key is not revoked here: a new one is made first. Only
logged-in users who may read the site get here; shared links and API tokens never do. A viewer
login sees the page without its forms, and its posts are refused (`viewer.form_viewer`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.goals import MAX_PATTERN_CHARS, GoalError, PageGoalStore
from clycyo.config.shields import MAX_RULES_PER_KIND, MAX_VALUE_CHARS, ShieldError, ShieldStore
from clycyo.config.site_rows import SiteRows
from clycyo.config.site_settings import InvalidSetting, known_timezones
from clycyo.config.store import ConfigError, Site
from clycyo.web import sessions
from clycyo.web.dashboard.forms import FormRejected, posted_by_user
from clycyo.web.dashboard.params import stored_id
from clycyo.web.dashboard.routing import Page, ViewContext, not_allowed, render_view
from clycyo.web.dashboard.viewer import NotAllowed, Viewer, form_viewer

MAX_LABEL_CHARS = 80


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def tracker_snippet(request: Request, site: Site) -> str:
    """The `<script>` tag that puts the tracker on `site`'s pages, served from this server."""
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return f'<script defer src="{origin}/js/clycyo.js" data-key="{site.public_key}"></script>'


def settings_data(request: Request, viewer: Viewer) -> dict[str, Any]:
    # Their forms import this module.
    from clycyo.web.dashboard.annotations import annotation_data
    from clycyo.web.dashboard.email_reports import email_data

    access = sessions.access_store(request)
    site = viewer.site
    links = [
        {
            "id": link.id,
            "label": link.label,
            "hint": link.hint,
            "created": _when(link.created_at),
            "revoked": _when(link.revoked_at),
        }
        for link in access.shared_links(site.id)
    ]
    tokens = [
        {
            "id": t.id,
            "label": t.label,
            "hint": t.hint,
            "sites": len(t.site_ids),
            "created": _when(t.created_at),
            "revoked": _when(t.revoked_at),
        }
        for t in access.api_tokens(site.id)
    ]
    keys = [
        {
            "id": key.id,
            "hint": key.hint,
            "created": _when(key.created_at),
            "revoked": _when(key.revoked_at),
        }
        for key in request.app.state.runtime.config.secret_keys(site.id)
    ]
    return {
        "site": site.domain,
        "public_key": site.public_key,
        "snippet": tracker_snippet(request, site),
        "currency": site.currency,
        "timezone": site.timezone,
        "timezones": known_timezones(),
        "shared_links": links,
        "api_tokens": tokens,
        "secret_keys": keys,
        "live_keys": sum(1 for key in keys if key["revoked"] is None),
        "page_goals": [
            {"id": g.id, "name": g.name, "pattern": g.pattern}
            for g in PageGoalStore(request.app.state.runtime.config).list(site.id)
        ],
        "max_pattern_chars": MAX_PATTERN_CHARS,
        "shields": [
            {"id": r.id, "kind": r.kind, "value": r.value}
            for r in ShieldStore(request.app.state.runtime.config).list(site.id)
        ],
        "max_shields_per_kind": MAX_RULES_PER_KIND,
        "max_shield_chars": MAX_VALUE_CHARS,
        **email_data(request.app.state.runtime, viewer),
        **annotation_data(request.app.state.runtime, viewer),
        "created": None,
        "rejected": None,
        "key_refused": None,
        "goal_refused": None,
        "shield_refused": None,
    }


def settings_view(ctx: ViewContext) -> Page:
    # Routed with `Reach.SETTINGS`: only a logged-in user gets here (an API token reads data; it
    # does not manage credentials).
    return Page("settings.html", settings_data(ctx.request, ctx.viewer))


async def settings_page(request: Request, viewer: Viewer, **shown: object) -> Response:
    def view(ctx: ViewContext) -> Page:
        return Page("settings.html", {**settings_data(ctx.request, viewer), **shown})

    return await render_view(request, viewer, "settings", view)


async def not_done(request: Request, viewer: Viewer, **shown: object) -> Response:
    """The page again with why a form changed nothing (`400`)."""
    response = await settings_page(request, viewer, **shown)
    response.status_code = 400
    return response


def _refused(request: Request, exc: FormRejected | NotAllowed) -> Response:
    page = f"/sites/{quote(request.path_params['domain'], safe='')}/settings"
    return not_allowed(request, NotAllowed(exc.status, exc.message), False, page=page)


FormHandler = Callable[[Request, Viewer, dict[str, str]], Awaitable[Response]]


def site_form(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """A form of the page: posted by a logged-in user of the site with the page's CSRF token
    (refused otherwise), handled with the site's viewer and the form's fields."""

    async def posted(request: Request) -> Response:
        try:
            session, form = await posted_by_user(request)
            viewer = form_viewer(request, request.path_params["domain"], session)
        except (FormRejected, NotAllowed) as exc:
            return _refused(request, exc)
        return await handler(request, viewer, form.fields)

    return posted


def not_deleted(
    request: Request, viewer: Viewer, rows: SiteRows, fields: dict[str, str], what: str
) -> Response | None:
    """Delete the site's row the form's `id` names from `rows`; the 404 page naming `what` when
    the site has no such row, None once it is deleted."""
    row_id = stored_id(fields.get("id", ""))
    if row_id is None or not rows.delete(viewer.site.id, row_id):
        return not_allowed(request, NotAllowed(404, f"no such {what}"), False)
    return None


@site_form
async def add_link(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    label = fields.get("label", "").strip()[:MAX_LABEL_CHARS]
    token, _ = sessions.access_store(request).add_shared_link(viewer.site.id, label)
    url = f"{request.url.scheme}://{request.url.netloc}/share/{token}"
    return await settings_page(request, viewer, created={"kind": "shared link", "secret": url})


@site_form
async def update_reporting(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    try:
        runtime.config.update_site(
            viewer.site.id,
            currency=fields.get("currency", ""),
            timezone=fields.get("timezone", ""),
        )
    except InvalidSetting as exc:
        return await not_done(request, viewer, rejected=str(exc))
    runtime.directory.clear()  # this process answers with the new values at once
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def revoke_link(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    link_id = stored_id(fields.get("id", ""))
    if link_id is None:
        return not_allowed(request, NotAllowed(404, "no such link"), False)
    sessions.access_store(request).revoke_shared_link(link_id, [viewer.site.id])
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def add_token(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    label = fields.get("label", "").strip()[:MAX_LABEL_CHARS]
    token, _ = sessions.access_store(request).add_api_token([viewer.site.id], label)
    return await settings_page(request, viewer, created={"kind": "API token", "secret": token})


@site_form
async def revoke_token(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    token_id = stored_id(fields.get("id", ""))
    if token_id is None:
        return not_allowed(request, NotAllowed(404, "no such token"), False)
    # A user may revoke a token only if every site it reads is one of theirs.
    mine = [s.id for s in viewer.sites] or [viewer.site.id]
    sessions.access_store(request).revoke_api_token(token_id, mine)
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def add_key(request: Request, viewer: Viewer, _: dict[str, str]) -> Response:
    secret_key = request.app.state.runtime.config.add_secret_key(viewer.site.id)
    return await settings_page(
        request, viewer, created={"kind": "secret key", "secret": secret_key}
    )


@site_form
async def revoke_key(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    try:
        # Only a key of this page's site; never its last one (`clycyo key revoke --force` can).
        runtime.config.revoke_secret_key_by_id(fields.get("id", ""), site_ids=[viewer.site.id])
    except ConfigError as exc:
        return await not_done(request, viewer, key_refused=str(exc))
    # This process's own write leaves its `data_version` as it was: drop the cached keys here
    # (the collectors, other processes, see the change within a second).
    runtime.directory.clear()
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def add_goal(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    goals = PageGoalStore(request.app.state.runtime.config)
    try:
        goals.add(viewer.site.id, fields.get("pattern", ""))
    except GoalError as exc:
        return await not_done(request, viewer, goal_refused=str(exc))
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def delete_goal(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    goals = PageGoalStore(request.app.state.runtime.config)
    missing = not_deleted(request, viewer, goals, fields, "goal")
    return missing or RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def add_shield(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    site = viewer.site
    try:
        ShieldStore(runtime.config).add(
            site.id, site.domain, fields.get("kind", ""), fields.get("value", "")
        )
    except ShieldError as exc:
        return await not_done(request, viewer, shield_refused=str(exc))
    runtime.directory.clear()  # this process's next event is judged by it
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)


@site_form
async def delete_shield(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    missing = not_deleted(request, viewer, ShieldStore(runtime.config), fields, "shield")
    if missing is not None:
        return missing
    runtime.directory.clear()
    return RedirectResponse(f"{viewer.base}/settings", status_code=303)
