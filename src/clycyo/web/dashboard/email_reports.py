"""The Settings page's Email reports section: the weekly and monthly report lists, the
traffic-spike list and threshold, and a button that sends a test report now.

Each form is posted with the page's CSRF token by a logged-in user of the site
(`settings.site_form`). An address or threshold that is not one is answered with the page and
the reason, nothing changed (`config/email_reports.py` checks them). Without an SMTP server set
the lists can still be kept, but the section says that nothing is sent and what to set, and the
test button is refused with the same words. A test report is the latest whole week's or month's,
sent to one address (the login's by default) and not remembered: the scheduled report still
goes to the lists.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.email_reports import (
    LISTS,
    MAX_RECIPIENTS,
    EmailReportStore,
    RecipientError,
    check_address,
)
from clycyo.mail import periods
from clycyo.mail.scheduler import runtime_ask, utc_now
from clycyo.mail.sending import Mailer
from clycyo.mail.smtp import WHAT_TO_SET
from clycyo.web.dashboard.settings import not_deleted, not_done, settings_page, site_form
from clycyo.web.dashboard.viewer import Viewer

TITLES = {
    "weekly": "Weekly report (Mondays, 9:00)",
    "monthly": "Monthly report (the 1st, 9:00)",
    "spike": "Traffic spike notification",
}


def email_data(runtime: Any, viewer: Viewer) -> dict[str, Any]:
    """The section's part of the page's data (and of its `.json` twin)."""
    store = EmailReportStore(runtime.config)
    recipients = store.list(viewer.site.id)
    return {
        "email": {
            "available": runtime.settings.smtp is not None,
            "what_to_set": WHAT_TO_SET,
            "public_url": runtime.settings.public_url,
            "lists": [
                {
                    "key": name,
                    "title": TITLES[name],
                    "recipients": [
                        {"id": r.id, "address": r.address} for r in recipients if r.list == name
                    ],
                }
                for name in LISTS
            ],
            "spike_threshold": store.threshold(viewer.site.id),
            "max_recipients": MAX_RECIPIENTS,
            "test_address": viewer.session.email if viewer.session else "",
        },
        "email_refused": None,
        "email_sent": None,
    }


def _back(viewer: Viewer) -> Response:
    return RedirectResponse(f"{viewer.base}/settings#email-reports", status_code=303)


@site_form
async def add_recipient(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    store = EmailReportStore(request.app.state.runtime.config)
    try:
        store.add(viewer.site.id, fields.get("list", ""), fields.get("address", ""))
    except RecipientError as exc:
        return await not_done(request, viewer, email_refused=f"Not added: {exc}")
    return _back(viewer)


@site_form
async def delete_recipient(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    store = EmailReportStore(request.app.state.runtime.config)
    return not_deleted(request, viewer, store, fields, "recipient") or _back(viewer)


@site_form
async def set_threshold(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    store = EmailReportStore(request.app.state.runtime.config)
    given = fields.get("threshold", "").strip()
    try:
        if given:
            store.set_threshold(viewer.site.id, given)
        else:
            store.clear_threshold(viewer.site.id)
    except RecipientError as exc:
        return await not_done(request, viewer, email_refused=f"Not saved: {exc}")
    return _back(viewer)


@site_form
async def send_test(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    smtp = runtime.settings.smtp
    if smtp is None:
        return await not_done(request, viewer, email_refused=f"Not sent: {WHAT_TO_SET}")
    kind = fields.get("period", "week")
    if kind not in periods.KINDS:
        return await not_done(
            request, viewer, email_refused="Not sent: the period is week or month"
        )
    try:
        address = check_address(fields.get("to", "").strip() or _login(viewer))
    except RecipientError as exc:
        return await not_done(request, viewer, email_refused=f"Not sent: {exc}")
    mailer = Mailer(smtp, runtime.config, runtime.settings.public_url)
    site = viewer.site

    def send() -> str | None:
        now = utc_now()
        period = periods.latest_complete(kind, now, site.timezone)
        report = mailer.report(runtime_ask(runtime), site, period)
        outcome = mailer.send_report(report, site, [address], now=now, remember=False)
        return outcome.failed.get(address)

    failed = await asyncio.to_thread(send)
    if failed is not None:
        return await not_done(request, viewer, email_refused=f"Not sent: {failed}")
    return await settings_page(request, viewer, email_sent=f"A test report was sent to {address}.")


def _login(viewer: Viewer) -> str:
    return viewer.session.email if viewer.session else ""
