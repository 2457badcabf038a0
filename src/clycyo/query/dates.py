"""Date ranges: from the spec's words ("7d", "today", two dates) to a UTC interval.

Ranges are whole calendar days in the site's time zone (`sites.timezone`, default UTC): "today"
is today so far, "Nd" the N days ending today, "month" this month so far, "Nmo" the N months
ending this one, ["YYYY-MM-DD", "YYYY-MM-DD"] both days included; full ISO times are taken as
they are. The end is exclusive. The previous period of a range is the range just before it:
as many of the site's days for whole days, else as long in time. Its year before holds the same
local days and times one year earlier, a 29 February becoming the 28th (as Plausible shifts
them). Days and times lie between 1920 and 2299: ClickHouse's times hold 1900 to 2299, so a
range and the periods it is compared with are always times both engines can hold. This module
does no SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clycyo.query.errors import QueryError

_DAYS = re.compile(r"^(\d{1,4})d$")
_MONTHS = re.compile(r"^(\d{1,3})mo$")
MAX_DAYS = 3660
FIRST_DAY = dt.date(1920, 1, 1)  # a previous period of MAX_DAYS still starts after 1900
LAST_DAY = dt.date(2299, 12, 30)  # its end (the next midnight, UTC) still in 2299
Day = TypeVar("Day", dt.date, dt.datetime)


@dataclass(frozen=True)
class Period:
    start: dt.datetime  # UTC, naive (the store's timestamps are naive UTC)
    end: dt.datetime  # exclusive
    timezone: str

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period just before, as long: as many of the site's days when this one is whole
        days (a day across a clock change lasts 23 or 25 hours, so the same hours before would
        start an hour off and pair each day with the wrong one), else as long in time."""
        tz = zone(self.timezone)
        first, after = _local(self.start, tz), _local(self.end, tz)
        if first.time() == dt.time() and after.time() == dt.time():
            days = (after.date() - first.date()).days
            start = _utc(dt.datetime.combine(first.date() - dt.timedelta(days=days), dt.time()), tz)
            return Period(start, self.start, self.timezone)
        return Period(self.start - self.length, self.start, self.timezone)

    def year_before(self) -> Period:
        """The same local days and times one year earlier (29 February is the 28th then, so a
        range ending on it is a day shorter the year before)."""
        tz = zone(self.timezone)
        start = _utc(year_earlier(_local(self.start, tz)), tz)
        return Period(start, _utc(year_earlier(_local(self.end, tz)), tz), self.timezone)

    def as_json(self) -> list[str]:
        return [_iso(self.start), _iso(self.end)]


def year_earlier(day: Day) -> Day:
    """The same day of the calendar one year earlier; 29 February is the 28th then."""
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def _iso(value: dt.datetime) -> str:
    return value.isoformat() + "Z"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError("timezone", f"unknown time zone {name!r}") from None


def _utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return local.replace(tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)


def _local(utc: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return utc.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)


def _within(day: dt.date, field: str, text: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise QueryError(field, f"{text!r} is not between {FIRST_DAY} and {LAST_DAY}")


def _day(text: str, field: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise QueryError(field, f"expected a date YYYY-MM-DD, got {text!r}") from None
    _within(day, field, text)
    return day


def _instant(text: str, field: str, tz: ZoneInfo) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(field, f"expected a date or an ISO time, got {text!r}") from None
    _within(value.date(), field, text)
    if value.tzinfo is None:
        return _utc(value, tz)
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def period(date_range: str | list[str], timezone: str, now: dt.datetime | None = None) -> Period:
    """The UTC interval a spec's `date_range` names, for a site in `timezone`."""
    tz = zone(timezone)
    local_now = (now or dt.datetime.now(dt.UTC)).astimezone(tz)
    today = local_now.date()
    if isinstance(date_range, list):
        if len(date_range) != 2 or not all(isinstance(v, str) for v in date_range):
            raise QueryError("date_range", "expected [start, end]")
        first, last = date_range
        if len(first) == 10 and len(last) == 10:
            start_day, end_day = _day(first, "date_range[0]"), _day(last, "date_range[1]")
            start = _utc(dt.datetime.combine(start_day, dt.time()), tz)
            end = _utc(dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time()), tz)
        else:
            start, end = _instant(first, "date_range[0]", tz), _instant(last, "date_range[1]", tz)
        if end <= start:
            raise QueryError("date_range", "the end is before the start")
        if end - start > dt.timedelta(days=MAX_DAYS):
            raise QueryError("date_range", f"longer than {MAX_DAYS} days")
        return Period(start, end, timezone)
    tomorrow = _utc(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()), tz)
    if date_range == "today":
        return Period(_utc(dt.datetime.combine(today, dt.time()), tz), tomorrow, timezone)
    if date_range == "yesterday":
        midnight = _utc(dt.datetime.combine(today, dt.time()), tz)
        return Period(midnight - dt.timedelta(days=1), midnight, timezone)
    if date_range == "month":
        first_day = today.replace(day=1)
        return Period(_utc(dt.datetime.combine(first_day, dt.time()), tz), tomorrow, timezone)
    days = _DAYS.match(date_range)
    if days and 0 < int(days.group(1)) <= MAX_DAYS:
        start_day = today - dt.timedelta(days=int(days.group(1)) - 1)
        return Period(_utc(dt.datetime.combine(start_day, dt.time()), tz), tomorrow, timezone)
    months = _MONTHS.match(date_range)
    if months and 0 < int(months.group(1)) <= 120:
        count = int(months.group(1))
        index = today.year * 12 + today.month - 1 - (count - 1)
        first_day = dt.date(index // 12, index % 12 + 1, 1)
        return Period(_utc(dt.datetime.combine(first_day, dt.time()), tz), tomorrow, timezone)
    raise QueryError(
        "date_range",
        f"expected 'today', 'yesterday', 'month', 'Nd', 'Nmo' or [start, end], got {date_range!r}",
    )
