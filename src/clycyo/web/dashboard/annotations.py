"""Annotations on the dashboard: where the overview chart marks them, and the Settings page's
Annotations section (the latest ones, a form to add one, a button to delete each).

The chart shows the annotations of the view's period (not those of the days before it that its
first week holds), each at the bucket (hour, day, week or month) its instant falls in, found
from the buckets' own starts so it agrees with the line whatever the zone's clock changes; one
after the last bucket drawn (later today) is not shown.
What the chart's data carries of each is its id, time (UTC, and `local` as the site's clock
reads it), text and bucket, never who made it: a shared link reads it too. The section's forms
are posted with the page's CSRF token by a logged-in user of the site who may change it
(`settings.site_form`; a viewer login is refused); a time or text that is not one is answered
with the page and the reason, nothing added (`config/annotations.py` checks them). This module
renders no markup of its own. The overview's export writes the period's annotations too
(`period_rows`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clycyo.config.annotations import (
    MAX_TEXT_CHARS,
    AnnotationError,
    AnnotationStore,
    iso_utc,
    parse_time,
)
from clycyo.config.store import Site
from clycyo.query import timeseries
from clycyo.web.dashboard.params import Period
from clycyo.web.dashboard.settings import not_deleted, not_done, site_form
from clycyo.web.dashboard.viewer import Viewer

LISTED = 20  # the Settings page lists the latest ones; the API and the command line list all


def _local_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone)


def _local_text(seconds: float, zone: ZoneInfo) -> str:
    """An instant as the site's clock reads it (`2026-11-20 15:30`)."""
    return dt.datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M")


def _bucket_start(label: str, interval: str, timezone: str, zone: ZoneInfo) -> dt.datetime:
    if interval == "hour":
        return timeseries.hour_began(label, timezone)
    return _local_day(dt.date.fromisoformat(label[:10]), zone)


def _after(start: dt.datetime, interval: str, zone: ZoneInfo) -> dt.datetime:
    """Where the bucket that begins at `start` ends."""
    if interval == "hour":
        return start + dt.timedelta(hours=1)
    day = start.date()
    if interval == "month":
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        following = day + dt.timedelta(days=7 if interval == "week" else 1)
    return _local_day(following, zone)


def on_chart(runtime: Any, site: Site, period: Period, labels: list[str]) -> list[dict[str, Any]]:
    """The period's annotations, each with the label of the chart's bucket (`labels`, the
    points' own, oldest first) its instant falls in."""
    if not labels:
        return []
    zone = ZoneInfo(site.timezone)
    interval = period.interval
    starts = [_bucket_start(label, interval, site.timezone, zone).timestamp() for label in labels]
    last_start = dt.datetime.fromtimestamp(starts[-1], zone)
    # A week's bucket may begin before the period (on its Monday): what is marked begins with
    # the period, as the line's numbers and the export's annotations do.
    start = max(starts[0], _local_day(period.first, zone).timestamp())
    end = min(
        _after(last_start, interval, zone),
        _local_day(period.last + dt.timedelta(days=1), zone),
    ).timestamp()
    found = AnnotationStore(runtime.config).between(site.id, start, end)
    marks = []
    index = 0
    for annotation in found:  # oldest first, as the buckets
        while index + 1 < len(starts) and starts[index + 1] <= annotation.at:
            index += 1
        marks.append(
            {
                "id": annotation.id,
                "time": annotation.time,
                "local": _local_text(annotation.at, zone),
                "text": annotation.text,
                "bucket": labels[index],
            }
        )
    return marks


def period_rows(runtime: Any, site: Site, period: Period) -> list[list[str]]:
    """The period's annotations as the export writes them: UTC time, local time, text."""
    zone = ZoneInfo(site.timezone)
    start = _local_day(period.first, zone).timestamp()
    end = _local_day(period.last + dt.timedelta(days=1), zone).timestamp()
    found = AnnotationStore(runtime.config).between(site.id, start, end)
    return [[a.time, _local_text(a.at, zone), a.text] for a in found]


def annotation_data(runtime: Any, viewer: Viewer) -> dict[str, Any]:
    """The section's part of the Settings page's data (and of its `.json` twin)."""
    latest = AnnotationStore(runtime.config).between(viewer.site.id, limit=LISTED)
    zone = ZoneInfo(viewer.site.timezone)
    return {
        "annotations": [
            {
                "id": a.id,
                "time": a.time,
                "local": _local_text(a.at, zone),
                "text": a.text,
                "created_at": iso_utc(a.created_at),
                "created_by": a.created_by,
            }
            for a in reversed(latest)  # newest first
        ],
        "annotations_listed": LISTED,
        "max_annotation_chars": MAX_TEXT_CHARS,
        "annotation_refused": None,
    }


def _back(viewer: Viewer) -> Response:
    return RedirectResponse(f"{viewer.base}/settings#annotations", status_code=303)


@site_form
async def add_annotation(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    site = viewer.site
    when = fields.get("time", "").strip()
    made_by = viewer.session.email if viewer.session else "api"
    try:
        at = parse_time(when, site.timezone) if when else None
        store = AnnotationStore(request.app.state.runtime.config)
        store.add(site.id, fields.get("text", ""), at=at, created_by=made_by)
    except AnnotationError as exc:
        return await not_done(request, viewer, annotation_refused=str(exc))
    return _back(viewer)


@site_form
async def delete_annotation(request: Request, viewer: Viewer, fields: dict[str, str]) -> Response:
    store = AnnotationStore(request.app.state.runtime.config)
    return not_deleted(request, viewer, store, fields, "annotation") or _back(viewer)
