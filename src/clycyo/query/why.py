"""The "why" report: browser friction of checkout attempts that paid against those that did not.

An attempt is a visit that reached the funnel's step before the payment (a pageview of a page
or an event of a name), within the period and the view's filters. It paid when the same person
(identity map: every device of a user) has a payment event with a positive amount within
`PAY_WINDOW` after first reaching that step; the payment is server-verified data, the friction
is browser data, and the person joins them. The average paid order is that of the payments
that paid these attempts (each payment once, in the site's currency), so it honours the view's
filters as the counts do. Friction is what the attempt's visit met before the
payment (all of the visit when none came): JS errors, rage clicks, poor INP, poor LCP, each with
the page it happened on. One statement answers every grouping at once (GROUPING SETS): per
friction, per friction and page, per error message, and the totals. Values are parameters;
identifiers come from this module only. No HTTP, no rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clycyo.config.store import Site
from clycyo.identity import persons
from clycyo.query import dialect as dialects
from clycyo.query import reports
from clycyo.query.builder import superseded
from clycyo.store.base import EventStore

PAY_WINDOW_HOURS = 24
MAX_GROUPS = 500
KINDS = ("js_error", "rage_click", "poor_inp", "poor_lcp")
_FRICTION = (
    "CASE WHEN e.name = 'js_error' THEN 'js_error'"
    " WHEN e.name = 'rage_click' THEN 'rage_click'"
    " WHEN e.name = 'web_vital' AND {rating} = 'poor' AND {metric} = 'INP'"
    " THEN 'poor_inp'"
    " WHEN e.name = 'web_vital' AND {rating} = 'poor' AND {metric} = 'LCP'"
    " THEN 'poor_lcp' END"
)
_FRICTION_NAMES = "('js_error', 'rage_click', 'web_vital')"
_DISTINCT_IF = {
    "duckdb": "count(DISTINCT {value}) FILTER (WHERE {where})",
    "clickhouse": "uniqExactIf({value}, {where})",
}
_FIRST_BY = {"duckdb": "arg_min({value}, {order})", "clickhouse": "argMin({value}, {order})"}
_COUNT_IF = {"duckdb": "count(*) FILTER (WHERE {where})", "clickhouse": "countIf({where})"}


@dataclass(frozen=True)
class Attempt:
    """The step before the payment: a pageview of `match` (a page) or an event named `match`."""

    kind: str  # "pageview" or "event"
    match: str


@dataclass(frozen=True)
class FrictionCount:
    kind: str
    page: str | None  # None: on any page
    message: str | None  # the error message (js_error by message only)
    failed: int  # failed attempts that met it
    paid: int


@dataclass(frozen=True)
class WhyCounts:
    attempts: int
    paid: int
    frictions: list[FrictionCount]
    # The payments that paid these attempts, each once, in the site's currency.
    order_revenue: float = 0.0
    orders: int = 0

    @property
    def average_order(self) -> float:
        return self.order_revenue / self.orders if self.orders else 0.0


def _sql(dialect: str, scope: reports.Scope, attempt_condition: str, filters: list[str]) -> str:
    d = dialects.of(dialect)
    distinct = _DISTINCT_IF[dialect]
    failed = distinct.format(value="f.visit_id", where="NOT f.paid")
    paid = distinct.format(value="f.visit_id", where="f.paid")
    first = _FIRST_BY[dialect]
    count_if = _COUNT_IF[dialect]
    where = " AND ".join(
        [
            f"e.site_id = {scope.site_id}",
            f"e.time >= {scope.start}",
            f"e.time < {scope.end}",
            d.in_visit("e.visit_id"),
            attempt_condition,
            *filters,
        ]
    )
    window = f"INTERVAL {PAY_WINDOW_HOURS} HOUR"
    join = persons.JOINS[dialect]["event"]
    person = f"coalesce(m.user_bits, {d.bits('e.visit_id')})"
    kept = "".join(f" AND {c}" for c in superseded(dialect, "events", scope.site_id))
    friction = _FRICTION.format(
        rating=d.prop("e.props", "'rating'"), metric=d.prop("e.props", "'metric'")
    )
    message = d.prop("e.props", "'message'")
    return f"""
WITH m AS ({scope.identity_map}),
steps AS (
    SELECT e.visit_id, {person} AS person, min(e.time) AS reached
    FROM events e {join}
    WHERE {where}
    GROUP BY e.visit_id, {person}
),
payments AS (
    SELECT {person} AS person, e.time AS paid_at, e.event_id AS payment,
        CASE WHEN e.revenue_currency = {{currency}} THEN e.revenue_amount END AS amount
    FROM events e {join}
    WHERE e.site_id = {scope.site_id} AND e.name = {{payment}} AND e.revenue_amount > 0
        AND e.time >= {scope.start} AND e.time < {scope.end} + {window}{kept}
),
outcomes AS (
    SELECT s.visit_id, {first.format(value="p.paid_at", order="p.paid_at")} AS paid_at,
        {first.format(value="p.payment", order="p.paid_at")} AS payment
    FROM steps s LEFT JOIN payments p
        ON p.person = s.person AND p.paid_at >= s.reached AND p.paid_at < s.reached + {window}
    GROUP BY s.visit_id
),
paid_orders AS (
    SELECT DISTINCT p.payment, p.amount FROM payments p
    WHERE p.amount IS NOT NULL AND p.payment IN (SELECT payment FROM outcomes)
),
f AS (
    SELECT o.visit_id, o.paid_at IS NOT NULL AS paid, {friction} AS kind, e.page AS page,
        CASE WHEN e.name = 'js_error' THEN {message} END AS message
    FROM outcomes o JOIN events e ON e.visit_id = o.visit_id
    WHERE e.site_id = {scope.site_id} AND e.name IN {_FRICTION_NAMES}
        AND e.time >= {scope.start} - {window} AND e.time < {scope.end} + {window}
        AND (o.paid_at IS NULL OR e.time <= o.paid_at)
)
SELECT 'friction' AS part, kind, page, message, grouping(page) AS any_page,
    grouping(message) AS any_message, {failed} AS failed, {paid} AS paid,
    NULL AS order_sum, NULL AS order_count
FROM f WHERE kind IS NOT NULL
GROUP BY GROUPING SETS ((kind), (kind, page), (kind, message))
UNION ALL
SELECT 'totals', NULL, NULL, NULL, 1, 1, {count_if.format(where="paid_at IS NULL")},
    {count_if.format(where="paid_at IS NOT NULL")},
    (SELECT sum(amount) FROM paid_orders), (SELECT count(*) FROM paid_orders)
FROM outcomes
"""


def count_why(
    store: EventStore,
    site: Site,
    *,
    date_range: str | list[str],
    filters: list[list[Any]],
    attempt: Attempt,
    payment_event: str,
) -> WhyCounts:
    """Attempts, paid attempts and friction counts for one site and period."""
    period = reports.period(date_range, site)
    checked = reports.check_filters(filters)
    scope = reports.scope(store.dialect, site, period)
    match = scope.params.add(attempt.match)
    attempt_condition = (
        f"e.type = 'pageview' AND e.page = {match}"
        if attempt.kind == "pageview"
        else f"e.name = {match}"
    )
    event_filters = scope.event_filters(checked)
    text = _sql(store.dialect, scope, attempt_condition, event_filters)
    text = text.replace("{payment}", scope.params.add(payment_event))
    text = text.replace("{currency}", scope.params.add(site.currency or "USD"))
    sql, params = scope.params.render(text)
    attempts = paid = orders = 0
    revenue = 0.0
    found: list[FrictionCount] = []
    for row in store.execute(sql, params):
        part, kind, page, message, any_page, any_message, failed_n, paid_n, total, count = row
        if part == "totals":
            paid = int(paid_n or 0)
            attempts = int(failed_n or 0) + paid
            revenue, orders = float(total or 0), int(count or 0)
            continue
        if not any_message and kind != "js_error":
            continue  # only errors have messages
        found.append(
            FrictionCount(
                str(kind),
                None if any_page else str(page),
                None if any_message else str(message),
                int(failed_n or 0),
                int(paid_n or 0),
            )
        )
    found.sort(key=lambda f: (-f.failed, f.kind, f.page or "", f.message or ""))
    return WhyCounts(attempts, paid, found[:MAX_GROUPS], revenue, orders)
