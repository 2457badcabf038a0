"""Every dashboard route in one list, mounted by `app.py`.

Read views come in fours (HTML and `.json`, logged-in and shared; see `routing.py`), the Filter
form's suggestions in twos (`.json` only); the few
posts (login and its two-factor code, logout, two-factor on and off, funnels, segments, links,
tokens, keys, email reports, annotations) are plain endpoints that check the session and its
CSRF token themselves.
The bundled CSS, JavaScript and chart library are served from `/assets`, so no page needs
anything from another host.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from clycyo.web.access import Reach
from clycyo.web.dashboard import (
    account,
    email_reports,
    export,
    filter_form,
    funnels,
    home,
    login,
    login_code,
    overview,
    panels,
    people,
    realtime,
    rendering,
    segments,
    settings,
    why,
)
from clycyo.web.dashboard import annotations as annotation_forms
from clycyo.web.dashboard.assets import Assets
from clycyo.web.dashboard.routing import download_routes, json_routes, view_routes


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/", home.index, methods=["GET"]),
        Route("/login", login.login_page, methods=["GET"]),
        Route("/login", login.login, methods=["POST"]),
        Route("/login/code", login_code.code_page, methods=["GET"]),
        Route("/login/code", login_code.check_code, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/account", account.account_page, methods=["GET"]),
        Route("/account/two-factor", account.turn_on, methods=["POST"]),
        Route("/account/two-factor/off", account.turn_off, methods=["POST"]),
        Route("/sites.json", home.sites_page, methods=["GET"]),
        Route("/sites", home.sites_page, methods=["GET"]),
        Route("/sites/go", home.switch_site, methods=["GET"]),
        Mount("/assets", Assets(directory=rendering.STATIC, follow_symlink=False)),
        *view_routes("", overview.overview, "overview", reach=Reach.AGGREGATES),
        *view_routes("/panels/{panel}", panels.panel, "overview", reach=Reach.AGGREGATES),
        *download_routes("/export", export.download, reach=Reach.AGGREGATES),
        *download_routes("/filter", filter_form.add_filter, reach=Reach.AGGREGATES),
        *json_routes("/suggest", filter_form.suggest, "overview", reach=Reach.AGGREGATES),
        *view_routes("/funnels", funnels.funnel_list, "funnels", reach=Reach.AGGREGATES),
        Route("/sites/{domain}/funnels", funnels.create_funnel, methods=["POST"]),
        Route(
            "/sites/{domain}/funnels/{funnel_id:int}/delete",
            funnels.delete_funnel,
            methods=["POST"],
        ),
        *view_routes(
            "/funnels/{funnel_id:int}", funnels.funnel_view, "funnels", reach=Reach.AGGREGATES
        ),
        *view_routes(
            "/funnels/{funnel_id:int}/steps/{step:int}",
            funnels.step_persons,
            "funnels",
            reach=Reach.PERSONS,
        ),
        Route("/sites/{domain}/segments", segments.save_segment, methods=["POST"]),
        Route("/sites/{domain}/segments/delete", segments.delete_segment, methods=["POST"]),
        *view_routes("/why", why.why_view, "why", reach=Reach.AGGREGATES),
        *view_routes("/people", people.search, "people", reach=Reach.PERSONS),
        *view_routes("/people/{person:path}", people.person_view, "people", reach=Reach.PERSONS),
        *view_routes("/realtime", realtime.realtime_view, "realtime", reach=Reach.AGGREGATES),
        *view_routes("/settings", settings.settings_view, "settings", reach=Reach.SETTINGS),
        Route("/sites/{domain}/settings/reporting", settings.update_reporting, methods=["POST"]),
        Route("/sites/{domain}/settings/goals", settings.add_goal, methods=["POST"]),
        Route("/sites/{domain}/settings/goals/delete", settings.delete_goal, methods=["POST"]),
        Route("/sites/{domain}/settings/shields", settings.add_shield, methods=["POST"]),
        Route("/sites/{domain}/settings/shields/delete", settings.delete_shield, methods=["POST"]),
        Route(
            "/sites/{domain}/settings/annotations",
            annotation_forms.add_annotation,
            methods=["POST"],
        ),
        Route(
            "/sites/{domain}/settings/annotations/delete",
            annotation_forms.delete_annotation,
            methods=["POST"],
        ),
        Route(
            "/sites/{domain}/settings/email/recipients",
            email_reports.add_recipient,
            methods=["POST"],
        ),
        Route(
            "/sites/{domain}/settings/email/recipients/delete",
            email_reports.delete_recipient,
            methods=["POST"],
        ),
        Route(
            "/sites/{domain}/settings/email/spike", email_reports.set_threshold, methods=["POST"]
        ),
        Route("/sites/{domain}/settings/email/test", email_reports.send_test, methods=["POST"]),
        Route("/sites/{domain}/settings/links", settings.add_link, methods=["POST"]),
        Route("/sites/{domain}/settings/links/revoke", settings.revoke_link, methods=["POST"]),
        Route("/sites/{domain}/settings/tokens", settings.add_token, methods=["POST"]),
        Route("/sites/{domain}/settings/tokens/revoke", settings.revoke_token, methods=["POST"]),
        Route("/sites/{domain}/settings/keys", settings.add_key, methods=["POST"]),
        Route("/sites/{domain}/settings/keys/revoke", settings.revoke_key, methods=["POST"]),
    ]
