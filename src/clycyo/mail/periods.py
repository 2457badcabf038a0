"""Which week or month a report covers, and when it is due, in the site's time zone.

A weekly report covers Monday to Sunday and is due on the Monday after at `SEND_AT`; a monthly
report covers a calendar month and is due on the 1st after at `SEND_AT` (both the site's local
time, as Plausible sends them). `due` is the latest period whose sending time has come: sent at
once unless it went already, so a server down on Monday morning sends on its return, and only
the latest period is ever due (a month away does not send four weeks at once). Pure functions of
a date and a clock: nothing here reads a store or sends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

Kind = Literal["week", "month"]
KINDS: tuple[Kind, ...] = ("week", "month")
LISTS: dict[Kind, str] = {"week": "weekly", "month": "monthly"}  # the recipients' list
SEND_AT = dt.time(9, 0)


@dataclass(frozen=True)
class ReportPeriod:
    kind: Kind
    first: dt.date
    last: dt.date  # included

    @property
    def key(self) -> str:
        """What deliveries are remembered by: the kind's first day."""
        return self.first.isoformat()

    def date_range(self) -> list[str]:
        """The query API's `date_range` of the period (both days included)."""
        return [self.first.isoformat(), self.last.isoformat()]

    @property
    def title(self) -> str:
        if self.kind == "month":
            return self.first.strftime("%B %Y")
        return f"{_day(self.first)} \N{EN DASH} {_day(self.last)} {self.last.year}"

    def after(self) -> ReportPeriod:
        """The period that follows."""
        return covering(self.kind, self.last + dt.timedelta(days=1))

    def before(self) -> ReportPeriod:
        return covering(self.kind, self.first - dt.timedelta(days=1))

    def sending_time(self, timezone: str) -> dt.datetime:
        """When the report is due (aware, in the site's time zone)."""
        day = self.last + dt.timedelta(days=1)
        return dt.datetime.combine(day, SEND_AT, tzinfo=ZoneInfo(timezone))


def _day(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def covering(kind: Kind, day: dt.date) -> ReportPeriod:
    """The week (Monday to Sunday) or month `day` is in."""
    if kind == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return ReportPeriod(kind, monday, monday + dt.timedelta(days=6))
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return ReportPeriod(kind, first, following - dt.timedelta(days=1))


def latest_complete(kind: Kind, now: dt.datetime, timezone: str) -> ReportPeriod:
    """The last whole week or month before `now` (aware) in the site's time zone."""
    return covering(kind, now.astimezone(ZoneInfo(timezone)).date()).before()


def due(kind: Kind, now: dt.datetime, timezone: str) -> ReportPeriod:
    """The latest period whose report's sending time is `now` (aware) or before."""
    period = latest_complete(kind, now, timezone)
    if now < period.sending_time(timezone):
        period = period.before()
    return period
