"""A report's numbers, asked of the query layer: the totals the dashboard shows with their change
against the previous period, and the top sources, pages and goals.

Everything comes from query bodies of the query API (`POST /api/v1/query`), asked through
`ask`: in the server `query.api.run`, from the command line that or the running server's admin
query. So a report's numbers are the dashboard's for the same days: the totals are its cards
(the change against the previous period as the API computes it: as many days just before),
sources its Sources tab, pages its Top pages (pageviews' pages), goals its Goals & events panel
(page goals and custom events, the tracker's own events left out). No SQL and no formatting here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clycyo.mail.periods import ReportPeriod

Ask = Callable[[dict[str, Any]], dict[str, Any]]  # a query body in, the API's answer out

TOTALS = ("visitors", "pageviews", "bounce_rate", "visit_duration", "revenue")
TOP = 5


@dataclass(frozen=True)
class Total:
    metric: str
    value: Any  # as the API answers it; None where there is nothing to divide
    change: float | None  # percent, or points for a percentage; None: nothing to compare


@dataclass(frozen=True)
class Row:
    label: str
    visitors: int


@dataclass(frozen=True)
class Report:
    site: str
    period: ReportPeriod
    currency: str
    totals: tuple[Total, ...]
    sources: tuple[Row, ...]
    pages: tuple[Row, ...]
    goals: tuple[Row, ...]
    dashboard_url: str | None  # None: the server has no public address set

    def total(self, metric: str) -> Total:
        return next(t for t in self.totals if t.metric == metric)


def bodies(domain: str, period: ReportPeriod) -> dict[str, dict[str, Any]]:
    """The query bodies a report asks, by what they are for."""
    span = {"site": domain, "date_range": period.date_range()}
    top = {**span, "metrics": ["visitors"], "order_by": [["visitors", "desc"]], "limit": TOP}
    return {
        "totals": {**span, "metrics": list(TOTALS), "include": {"comparison": "previous_period"}},
        "sources": {**top, "dimensions": ["visit:source"]},
        "pages": {
            **top,
            "dimensions": ["event:page"],
            "filters": [["is", "event:name", ["pageview"]]],
        },
        "goals": {**top, "dimensions": ["event:goal"]},  # goals only: no tracker events
    }


def gather(ask: Ask, domain: str, period: ReportPeriod, dashboard_url: str | None) -> Report:
    asked = {name: ask(body) for name, body in bodies(domain, period).items()}
    totals = asked["totals"]
    row = totals["results"][0] if totals["results"] else {}
    values = row.get("metrics") or [None] * len(TOTALS)
    changes = (row.get("comparison") or {}).get("change") or [None] * len(TOTALS)
    return Report(
        site=domain,
        period=period,
        currency=str(totals.get("meta", {}).get("currency", "")),
        totals=tuple(
            Total(metric, value, change)
            for metric, value, change in zip(TOTALS, values, changes, strict=True)
        ),
        sources=_rows(asked["sources"]),
        pages=_rows(asked["pages"]),
        goals=_rows(asked["goals"]),
        dashboard_url=dashboard_url,
    )


def _rows(answer: dict[str, Any]) -> tuple[Row, ...]:
    return tuple(
        Row(str(r["dimensions"][0]), int(r["metrics"][0] or 0))
        for r in answer["results"]
        if r["metrics"][0]
    )
