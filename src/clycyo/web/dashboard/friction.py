"""Panels about browser friction: web vitals (p75 and the good / needs-improvement / poor split
overall, p75 by page) and JavaScript errors (grouped by message, with the pages they hit).

Both are ordinary events (`web_vital`, `js_error`, CONTRACT §2), so the counts come from plain
query bodies through `stats.run_query`; only the 75th percentile, which no standard metric
gives, comes from the query layer's vitals module. Rage clicks are a plain table (`panels.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from clycyo.web.dashboard import stats
from clycyo.web.dashboard.params import Filter
from clycyo.web.dashboard.routing import ViewContext

VITALS = ("LCP", "INP", "CLS", "FCP", "TTFB")
RATINGS = ("good", "needs-improvement", "poor")
UNITS = {"CLS": ""}  # the others are milliseconds
# Google's thresholds: at or under the first is good, over the second is poor.
THRESHOLDS = {
    "LCP": (2500, 4000),
    "INP": (200, 500),
    "CLS": (0.1, 0.25),
    "FCP": (1800, 3000),
    "TTFB": (800, 1800),
}


def rate(metric: str, p75: float | None) -> str | None:
    if p75 is None or metric not in THRESHOLDS:
        return None
    good, poor = THRESHOLDS[metric]
    return "good" if p75 <= good else ("poor" if p75 > poor else "needs-improvement")


PAGES_PER_ERROR = 3


def _body(
    ctx: ViewContext, name: str, dimensions: list[str], metrics: list[str], limit: int
) -> dict[str, Any]:
    return {
        "metrics": metrics,
        "date_range": ctx.state.period.date_range(),
        "dimensions": dimensions,
        "filters": [["is", "event:name", [name]], *ctx.state.query_filters()],
        "order_by": [[metrics[0], "desc"]],
        "limit": limit,
    }


def _split(counts: dict[str, float]) -> dict[str, Any]:
    """Samples, and the share of each rating among the rated ones (None when none is rated)."""
    rated = sum(counts.get(r, 0) for r in RATINGS)
    return {
        "samples": sum(counts.values()),
        **{r: round(counts.get(r, 0) / rated * 100, 1) if rated else None for r in RATINGS},
    }


def vitals_panel(ctx: ViewContext, limit: int) -> dict[str, Any]:
    overall_body = _body(
        ctx, "web_vital", ["event:props:metric", "event:props:rating"], ["events"], 100
    )
    # The pages with the most samples; their p75 per metric comes with the site's.
    pages_body = _body(ctx, "web_vital", ["event:page"], ["events"], limit)
    overall: dict[str, dict[str, float]] = defaultdict(dict)
    for row in stats.run_query(ctx.runtime, ctx.viewer.site, overall_body):
        overall[str(row.dimensions[0])][str(row.dimensions[1])] = float(row.metrics[0] or 0)
    pages = [
        str(r.dimensions[0]) for r in stats.run_query(ctx.runtime, ctx.viewer.site, pages_body)
    ]
    p75 = percentiles(ctx)
    metrics = [
        {
            "metric": m,
            "unit": UNITS.get(m, "ms"),
            "p75": p75.get(("", m)),
            "p75_rating": rate(m, p75.get(("", m))),
            **_split(overall[m]),
        }
        for m in VITALS
        if m in overall
    ]
    by_page = [
        {
            "page": page,
            "link": ctx.state.with_filter(Filter("is", "event:page", page)),
            "metrics": {
                m: {"p75": p75[(page, m)], "p75_rating": rate(m, p75[(page, m)])}
                for m in VITALS
                if (page, m) in p75
            },
        }
        for page in pages
        if page != stats.NONE_LABEL
    ]
    return {
        "metrics": metrics,
        "pages": by_page,
        "queries": {"overall": overall_body, "pages": pages_body},
    }


def percentiles(ctx: ViewContext) -> dict[tuple[str, str], float]:
    """p75 per (page, metric), and per ("", metric) for the whole site."""
    return stats.vital_percentiles(ctx.runtime, ctx.viewer.site, ctx.state)


def error_messages(ctx: ViewContext, limit: int) -> tuple[list[stats.Row], dict[str, Any]]:
    """The JS errors by message, most frequent first (with their visitors), and the body asked."""
    body = _body(ctx, "js_error", ["event:props:message"], ["events", "visitors"], limit)
    return stats.run_query(ctx.runtime, ctx.viewer.site, body), body


def errors_panel(ctx: ViewContext, limit: int) -> dict[str, Any]:
    """The JS errors by message, each with the pages it hit most."""
    messages, by_message_body = error_messages(ctx, limit)
    pages_body = _body(ctx, "js_error", ["event:props:message", "event:page"], ["events"], 5000)
    pages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in stats.run_query(ctx.runtime, ctx.viewer.site, pages_body):
        message, page = str(row.dimensions[0]), str(row.dimensions[1])
        pages[message].append(
            {
                "page": page,
                "events": row.metrics[0],
                "link": ctx.state.with_filter(Filter("is", "event:page", page)),
            }
        )
    errors = [
        {
            "message": str(row.dimensions[0]),
            "events": row.metrics[0],
            "visitors": row.metrics[1],
            "pages": pages[str(row.dimensions[0])][:PAGES_PER_ERROR],
        }
        for row in messages
    ]
    return {"errors": errors, "queries": {"by_message": by_message_body, "pages": pages_body}}


PANELS: dict[str, Callable[[ViewContext, int], dict[str, Any]]] = {
    "vitals": vitals_panel,
    "errors": errors_panel,
}
