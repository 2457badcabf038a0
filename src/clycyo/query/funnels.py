"""Funnels: how many persons did the steps in order, each within the window of their first step.

A step is events matching its filters (a page view, an event name, properties). A person reaches
step k when they have events s1 < s2 < ... < sk (each strictly after the one before) with
sk - s1 <= window. Step 1 must fall in the period; later steps may follow it up to the window
after the period's end. Counting is exact: for every step-2 event the latest step-1 event before
it is the best start (any other start is earlier, so leaves less of the window), and from there
the earliest next step is always best (ASOF joins in the engine). Persons are the identity map's
(all devices of a user). Reports per step: persons, conversion from step 1 and from the step
before (null when that step has nobody), and drop-off.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec

from clycyo.config.store import Site
from clycyo.identity import persons
from clycyo.query import dialect, registry, reports
from clycyo.query.builder import superseded
from clycyo.query.conditions import event_condition, page_key_condition
from clycyo.query.errors import QueryError
from clycyo.query.spec import DimensionRef, Filter
from clycyo.store.base import EventStore

MAX_STEPS = 8
_WINDOW = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class StepSpec(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None  # an event name ("pageview" for page views)
    page: str | None = None  # a page path: a page view of it, unless `name` says otherwise
    filters: list[list[Any]] = []
    label: str | None = None


class FunnelSpec(msgspec.Struct, forbid_unknown_fields=True):
    site: str
    steps: list[StepSpec]
    date_range: str | list[str] = "30d"
    window: str | int = "1d"
    filters: list[list[Any]] = []


@dataclass(frozen=True)
class Step:
    label: str
    filters: tuple[Filter, ...]


def _ref(name: str) -> DimensionRef:
    return DimensionRef(registry.DIMENSIONS[name], None, name)


def window_s(value: str | int) -> int:
    if isinstance(value, int):
        seconds = value
    else:
        match = _WINDOW.match(value)
        if not match:
            raise QueryError("window", "expected seconds or a number with s, m, h or d")
        seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if not 1 <= seconds <= 90 * 86400:
        raise QueryError("window", "expected 1 second to 90 days")
    return seconds


def check_steps(raw: list[StepSpec], page_goals: Collection[str] | None = None) -> list[Step]:
    if not 2 <= len(raw) <= MAX_STEPS:
        raise QueryError("steps", f"expected 2 to {MAX_STEPS} steps")
    steps = []
    for index, step in enumerate(raw):
        field = f"steps[{index}]"
        filters = list(reports.check_filters(step.filters, f"{field}.filters", page_goals))
        name = step.name or ("pageview" if step.page is not None else None)
        if name is not None:
            filters.append(Filter("is", _ref("event:name"), (name,)))
        if step.page is not None:
            filters.append(Filter("is", _ref("event:page"), (step.page,)))
        if not filters:
            raise QueryError(field, "a step needs a name, a page or filters")
        if any(f.target.dimension.level != "event" for f in filters):
            raise QueryError(f"{field}.filters", "steps are defined by event: filters")
        label = step.label or step.page or name or f"step {index + 1}"
        steps.append(Step(label, tuple(filters)))
    return steps


def _table(step: Step) -> str:
    """The narrowest table holding a step's events (see planner.events_table)."""
    names: set[str] | None = None
    for f in step.filters:
        if f.target.name == "event:name" and f.operator == "is":
            names = set(f.values) if names is None else names & set(f.values)
    if names and not names & {"pageview", "engagement", "web_vital"}:
        return "actions"
    pages_only = all(
        f.target.name in ("event:page", "event:hostname", "event:name") for f in step.filters
    )
    return "pageviews" if names == {"pageview"} and pages_only else "events"


def _sql(
    scope: reports.Scope,
    steps: list[Step],
    filters: tuple[Filter, ...],
    window: int,
    period_end: dt.datetime,
) -> str:
    """Common table expressions ending in `levels`: each person who started the funnel, with
    the last step reached by a chain that stays within the window."""
    p = scope.params
    d = dialect.of(scope.dialect)
    late_end = p.add(period_end + dt.timedelta(seconds=window))
    selects = []
    for index, step in enumerate(steps):
        table = _table(step)
        where = [f"e.site_id = {scope.site_id}", f"e.time >= {scope.start}", f"e.time < {late_end}"]
        for f in step.filters:
            keyed = page_key_condition(f, p) if table == "pageviews" else None
            where.append(keyed or event_condition(f, scope.dialect, p))
        where += scope.event_filters(filters)
        where += superseded(scope.dialect, table, scope.site_id)
        selects.append(
            f"SELECT e.visit_id, e.time, {index} AS step FROM {table} e WHERE {' AND '.join(where)}"
        )
    window_us = p.add(window * 1_000_000)
    ctes = [
        f"m AS ({scope.identity_map})",
        f"steps AS ({' UNION ALL '.join(selects)})",
        f"hits AS (SELECT coalesce(m.user_bits, {d.bits('e.visit_id')}) AS person,"
        f" e.time AS t, e.step FROM steps e {persons.JOINS[scope.dialect]['event']}"
        " WHERE e.visit_id IS NOT NULL)",
    ]
    if d.clickhouse:
        # ClickHouse's own funnel function: over each person's hits in time order it keeps, per
        # step, the chain with the latest start — the same exact answer as the joins below.
        conditions = [f"step = 0 AND t < {scope.end}"]
        conditions += [f"step = {index}" for index in range(1, len(steps))]
        ctes.append(
            f"funnel AS (SELECT person, windowFunnel({window_us}, 'strict_increase')"
            f"(toUInt64({d.epoch_us('t')}), {', '.join(conditions)}) AS level"
            " FROM hits GROUP BY person), levels AS (SELECT * FROM funnel WHERE level > 0)"
        )
        return "WITH " + ", ".join(ctes)
    ctes.append(
        f"r0 AS (SELECT person, t AS t0, t AS t_last FROM hits WHERE step = 0 AND t < {scope.end})"
    )
    for index in range(1, len(steps)):
        name = f"st{index}"
        ctes.append(f"{name} AS (SELECT person, t FROM hits WHERE step = {index})")
        if index == 1:
            # Each step-2 event with the latest step-1 event before it (of the persons who
            # have a step 2 at all: a fraction of those with a step 1, so less to sort).
            ctes.append("s0 AS (SELECT * FROM r0 WHERE person IN (SELECT person FROM st1))")
            ctes.append(
                f"r1 AS (SELECT st1.person, s0.t0, st1.t AS t_last FROM st1"
                f" ASOF JOIN s0 ON st1.person = s0.person AND st1.t > s0.t0"
                f" WHERE epoch_us(st1.t) - epoch_us(s0.t0) <= {window_us})"
            )
        else:
            ctes.append(
                f"r{index} AS (SELECT r.person, r.t0, {name}.t AS t_last FROM r{index - 1} r"
                f" ASOF JOIN {name} ON {name}.person = r.person AND {name}.t > r.t_last"
                f" WHERE epoch_us({name}.t) - epoch_us(r.t0) <= {window_us})"
            )
    reached = " UNION ALL ".join(
        f"SELECT DISTINCT person, {i + 1} AS level FROM r{i}" for i in range(len(steps))
    )
    ctes.append(f"reached AS ({reached})")
    ctes.append("levels AS (SELECT person, max(level) AS level FROM reached GROUP BY person)")
    return "WITH " + ", ".join(ctes)


def _percent(part: int, whole: int) -> float | None:
    """A share in percent; None of nobody, as the query API's other ratios of nothing."""
    return round(100.0 * part / whole, 2) if whole else None


def run_funnel(
    store: EventStore,
    site: Site,
    body: FunnelSpec | dict[str, Any] | bytes,
    now: dt.datetime | None = None,
    page_goals: Collection[str] | None = None,
) -> dict[str, Any]:
    """The funnel `body` asks for; with the site's page goals (`page_goals`) an `event:goal`
    filter, of a step or of the whole, must name one of them (None: any well-formed one)."""
    spec = reports.decode(body, FunnelSpec)
    steps = check_steps(spec.steps, page_goals)
    window = window_s(spec.window)
    period = reports.period(spec.date_range, site, now)
    scope = reports.scope(store.dialect, site, period)
    filters = reports.check_filters(spec.filters, page_goals=page_goals)
    # Reaching a step implies reaching the ones before it.
    counts_sql = ", ".join(f"count(*) FILTER (WHERE level >= {i + 1})" for i in range(len(steps)))
    sql, params = scope.params.render(
        _sql(scope, steps, filters, window, period.end) + f" SELECT {counts_sql} FROM levels"
    )
    counts = [int(n) for n in store.execute(sql, params)[0]]
    first = counts[0]
    result = []
    for index, (step, count) in enumerate(zip(steps, counts, strict=True)):
        before = counts[index - 1] if index else count
        result.append(
            {
                "label": step.label,
                "visitors": count,
                "conversion_rate": _percent(count, first),
                "step_conversion_rate": _percent(count, before),
                "dropoff": before - count,
            }
        )
    return {
        "steps": result,
        "meta": {"site": site.domain, "date_range": period.as_json(), "window_s": window},
    }


def funnel_persons(
    store: EventStore,
    site: Site,
    body: FunnelSpec | dict[str, Any] | bytes,
    *,
    step: int,
    dropped: bool = False,
    limit: int = 100,
    now: dt.datetime | None = None,
    page_goals: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Persons who reached step `step` (1-based), or reached it and went no further
    (`page_goals` as for `run_funnel`)."""
    spec = reports.decode(body, FunnelSpec)
    steps = check_steps(spec.steps, page_goals)
    if not 1 <= step <= len(steps):
        raise QueryError("step", f"expected 1 to {len(steps)}")
    period = reports.period(spec.date_range, site, now)
    scope = reports.scope(store.dialect, site, period)
    filters = reports.check_filters(spec.filters, page_goals=page_goals)
    d = dialect.of(scope.dialect)
    window = window_s(spec.window)
    text = _sql(scope, steps, filters, window, period.end)
    test = "level = " if dropped else "level >= "
    first = "any" if d.clickhouse else "any_value"
    p = scope.params
    bits = d.bits("e.visit_id")
    # A person's id: the user id the identity map gives them, else the ids their events of the
    # funnel's time range carry (every chosen person has a step event there), a user id before
    # a visitor id: a person known only from server events with a user id is that user. Joins,
    # not correlated subqueries, which ClickHouse does not run.
    text += (
        f", chosen AS (SELECT l.person, max(h.t) AS seen FROM levels l JOIN hits h"
        f" ON h.person = l.person WHERE l.{test}{p.add(step)} GROUP BY l.person"
        f" ORDER BY seen DESC LIMIT {p.add(max(1, min(limit, 10_000)))}),"
        f" users AS (SELECT user_bits AS person, {first}(user_id) AS id FROM m"
        " WHERE user_bits IN (SELECT person FROM chosen) GROUP BY user_bits),"
        f" named AS (SELECT {bits} AS person, {first}(e.user_id) AS user_id,"
        f" {first}(e.visitor_id) AS visitor_id FROM events e WHERE e.site_id = {scope.site_id}"
        f" AND e.time >= {scope.start}"
        f" AND e.time < {p.add(period.end + dt.timedelta(seconds=window))}"
        f" AND {bits} IN (SELECT person FROM chosen) GROUP BY person)"
        " SELECT coalesce(u.id, n.user_id, n.visitor_id), c.seen FROM chosen c"
        " LEFT JOIN users u ON u.person = c.person LEFT JOIN named n ON n.person = c.person"
        " ORDER BY c.seen DESC"
    )
    sql, params = scope.params.render(text)
    return [
        {"id": label, "last_seen": last.isoformat() + "Z"}
        for label, last in store.execute(sql, params)
    ]
