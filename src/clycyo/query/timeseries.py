"""Time buckets: every bucket of a period in the site's time zone, so gaps show as zeros.

Days, weeks and months start at naive local times, as the SQL's `date_trunc` on local time
returns them; weeks start on Monday. An hour is a local clock hour as lived under one UTC
offset, keyed as `registry.TIME_BUCKETS` keys it: the instant (naive UTC) its local hour began,
reckoned with that offset. A day the clocks go back has 25 of them (the repeated hour
twice), a day they go forward 23. Where the clocks move by half an hour (Lord Howe Island) an
hour is cut in two parts instead: the day they go back, 01:00-02:00 and then 01:30-02:00 again
(25 buckets); the day they go forward, 02:00 is lived from 02:30 only (24 buckets, one of
them half an hour). Such a part's key is not when it began (01:30-02:00 again is keyed at
01:00+10:30, an instant of the first part), so an hour's label is found from its key (`began`).

Labels are ISO text: a date for days, weeks and months; for an hour the local time it began
(`2026-10-25T06:00:00`, or `2026-10-04T02:30:00` for an hour that began at 02:30), with the UTC
offset appended when the bucket holds a local time that happens twice, so the hours a clock
change back repeats stay apart (`2026-10-25T02:00:00+02:00`, then `2026-10-25T02:00:00+01:00`;
`2026-04-05T01:00:00+11:00`, then `2026-04-05T01:30:00+10:30`). Each label names the instant
its bucket began. This module does no SQL.
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


def hour_start(value: dt.datetime, timezone: str) -> dt.datetime:
    """The instant (naive UTC) the local hour of `value` (naive UTC) began."""
    local = _local(value, timezone)
    return value - (local - truncate(local, "hour"))


def _hours(period: Period) -> list[dt.datetime]:
    found: list[dt.datetime] = []
    current = hour_start(period.start, period.timezone)
    while current < period.end and len(found) < 100_000:
        found.append(current)
        # An hour later is in the next local hour, whatever the offset did in between.
        current = hour_start(current + dt.timedelta(hours=1), period.timezone)
    return found


def buckets(period: Period, unit: str) -> list[dt.datetime]:
    """Every bucket start that overlaps the period: naive local times, or for hours the naive
    UTC instants they began."""
    if unit == "hour":
        return _hours(period)
    first = truncate(_local(period.start, period.timezone), unit)
    end = _local(period.end, period.timezone)
    found: list[dt.datetime] = []
    current = first
    while current < end and len(found) < 100_000:
        found.append(current)
        current = following(current, unit)
    return found


def _offset(value: dt.datetime, timezone: str) -> dt.timedelta | None:
    return value.replace(tzinfo=dt.UTC).astimezone(zone(timezone)).utcoffset()


def began(key: dt.datetime, timezone: str) -> dt.datetime:
    """The instant (naive UTC) the hour keyed `key` (`hour_start`'s) began: the key itself, or,
    when the hour's offset came in force after it (an hour a clock change of less than an hour
    cuts), that change, found to the second (no zone changes its offset twice in an hour)."""
    if hour_start(key, timezone) == key:
        return key
    before = _offset(key, timezone)
    low, high = key, key + dt.timedelta(hours=1)  # the offset at `low` is `before`, at `high` not
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if _offset(middle, timezone) == before:
            low = middle
        else:
            high = middle
    return high


def _repeated(local: dt.datetime) -> bool:
    """Whether the local time of `local` (aware, in its zone) happens twice. A time the clocks
    skipped would differ between folds too, but the local time of an instant is never one."""
    naive = local.replace(tzinfo=None)
    tz = local.tzinfo
    return (
        naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset()
    )


def label(value: dt.datetime, unit: str, timezone: str) -> str:
    if unit != "hour":
        return value.date().isoformat()
    start = began(value, timezone)
    end = began(hour_start(value + dt.timedelta(hours=1), timezone), timezone)
    local = start.replace(tzinfo=dt.UTC).astimezone(zone(timezone))
    last = (end - dt.timedelta(seconds=1)).replace(tzinfo=dt.UTC).astimezone(zone(timezone))
    # Its first and last local times: a bucket holds a repeated time only at an end (one clock
    # change back starts the repeat at a bucket's start, and ends the bucket before it).
    if _repeated(local) or _repeated(last):
        return local.isoformat(timespec="seconds")
    return local.replace(tzinfo=None).isoformat(timespec="seconds")


def hour_began(text: str, timezone: str) -> dt.datetime:
    """The instant (aware, in the site's zone) an hour's label names: its own offset when it
    carries one, else the only one its local time has."""
    start = dt.datetime.fromisoformat(text)
    if start.tzinfo is not None:
        return start.astimezone(zone(timezone))
    return start.replace(tzinfo=zone(timezone))
