"""What the reports beyond `/query` share: the site's period, filters and the SQL around them.

Funnels, retention, journeys, realtime and web vitals each take a small spec with `site`,
`date_range` and `filters` (the query API's shapes and rules). This module checks those parts
once and hands back the period, the checked filters, and the parameters every statement starts
with. No report logic here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from clycyo.config.store import Site
from clycyo.identity import persons
from clycyo.query import dates
from clycyo.query.conditions import Params, event_row_filters
from clycyo.query.errors import QueryError, invalid_spec
from clycyo.query.spec import Filter, check_filter

SpecT = TypeVar("SpecT", bound=msgspec.Struct)


def decode(body: bytes | dict[str, Any] | SpecT, kind: type[SpecT]) -> SpecT:
    if isinstance(body, kind):
        return body
    try:
        if isinstance(body, bytes):
            return msgspec.json.decode(body, type=kind)
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise invalid_spec(exc, kind) from None
    except msgspec.DecodeError:
        raise QueryError("body", "not valid JSON") from None


def check_filters(
    raw: list[list[Any]], field: str = "filters", page_goals: Collection[str] | None = None
) -> tuple[Filter, ...]:
    """The filters, checked as the query API checks them; with the site's page goals
    (`page_goals`, their patterns) an `event:goal` filter must name one of them."""
    return tuple(check_filter(item, f"{field}[{i}]", page_goals) for i, item in enumerate(raw))


@dataclass
class Scope:
    """A statement's start: parameters with the site and period, and the shared relations."""

    dialect: str
    params: Params
    site_id: str  # parameter markers
    start: str
    end: str
    live: str  # the live-visit condition on alias `v`
    identity_map: str

    def event_filters(self, filters: tuple[Filter, ...]) -> list[str]:
        return event_row_filters(filters, self.dialect, self.params, self.site_id, self.live)


def scope(dialect: str, site: Site, period: dates.Period) -> Scope:
    params = Params()
    site_id = params.add(site.id)
    start, end = params.add(period.start), params.add(period.end)
    return Scope(
        dialect=dialect,
        params=params,
        site_id=site_id,
        start=start,
        end=end,
        live=persons.LIVE[dialect].replace("{site}", site_id),
        identity_map=persons.IDENTITY_MAP[dialect].replace("{site}", site_id),
    )


def period(date_range: str | list[str], site: Site, now: dt.datetime | None = None) -> dates.Period:
    return dates.period(date_range, site.timezone or "UTC", now)
