"""Time buckets: every bucket of a period in the site's time zone, so gaps show as zeros.

Bucket starts are naive local times, as the SQL's `date_trunc` on local time returns them; weeks
start on Monday. Labels are ISO text: a date for days, weeks and months, a time for hours. This
module does no SQL.
"""

from __future__ import annotations

import datetime as dt

from clycyo.query.dates import Period, zone


def _local(value: dt.datetime, timezone: str) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC).astimezone(zone(timezone)).replace(tzinfo=None)


def truncate(value: dt.datetime, unit: str) -> dt.datetime:
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def following(value: dt.datetime, unit: str) -> dt.datetime:
    if unit == "hour":
        return value + dt.timedelta(hours=1)
    if unit == "day":
        return value + dt.timedelta(days=1)
    if unit == "week":
        return value + dt.timedelta(days=7)
    month = value.year * 12 + value.month
    return value.replace(year=month // 12, month=month % 12 + 1)


def buckets(period: Period, unit: str) -> list[dt.datetime]:
    """Every bucket start (naive local time) that overlaps the period."""
    first = truncate(_local(period.start, period.timezone), unit)
    end = _local(period.end, period.timezone)
    found: list[dt.datetime] = []
    current = first
    while current < end and len(found) < 100_000:
        found.append(current)
        current = following(current, unit)
    return found


def label(value: dt.datetime, unit: str) -> str:
    return value.isoformat(timespec="seconds") if unit == "hour" else value.date().isoformat()
