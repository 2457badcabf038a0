"""A site's main view: the top numbers, the time-series chart and the panels' addresses.

The first render runs only the queries above the fold (the totals and the chart, for this period
and the previous one); each panel then loads from its own address, so a slow panel never holds
the page back. The `.json` twin carries the same numbers, the query bodies behind them and the
panels' `.json` addresses.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from clycyo.web.dashboard import panels, stats
from clycyo.web.dashboard.labels import metric_label
from clycyo.web.dashboard.params import ViewState
from clycyo.web.dashboard.routing import Page, ViewContext

# The query layer reports a change of a percentage in points, of anything else in percent.
UNITS = {"bounce_rate": "percent", "visit_duration": "seconds", "revenue": "money"}
CARDS = (
    "visitors",
    "visits",
    "pageviews",
    "bounce_rate",
    "visit_duration",
    "conversions",
    "revenue",
)


def _include(state: ViewState) -> dict[str, Any]:
    return {"include": {"comparison": "previous_period"}} if state.compare else {}


def totals_body(state: ViewState) -> dict[str, Any]:
    return {
        "metrics": list(CARDS),
        "date_range": state.period.date_range(),
        "filters": state.query_filters(),
        **_include(state),
    }


def series_body(state: ViewState) -> dict[str, Any]:
    return {
        "metrics": [state.metric],
        "date_range": state.period.date_range(),
        "dimensions": [f"time:{state.period.interval}"],
        "filters": state.query_filters(),
        **_include(state),
    }


def _bucket(label: object) -> str:
    """A bucket label as a full local time (`2026-11-20` → `2026-11-20T00:00:00`)."""
    text = str(label)
    return text if "T" in text else f"{text}T00:00:00"


def overview(ctx: ViewContext) -> Page:
    state, site = ctx.state, ctx.viewer.site
    bodies = {"totals": totals_body(state), "series": series_body(state)}
    # Both at once: each waits on the engine, and the first render waits for the slower one.
    with ThreadPoolExecutor(2) as pool:
        totals_job = pool.submit(stats.run_query, ctx.runtime, site, bodies["totals"])
        series = stats.run_query(ctx.runtime, site, bodies["series"])
        totals = totals_job.result()
    now_local = ctx.viewer.now().isoformat(timespec="seconds")
    now = totals[0].metrics if totals else [None] * len(CARDS)
    before = totals[0].comparison if totals and totals[0].comparison else None
    cards = [
        {
            "metric": metric,
            "label": metric_label(metric),
            "unit": UNITS.get(metric, "count"),
            "value": now[i],
            "previous": None if before is None else before["metrics"][i],
            "change": None if before is None else before["change"][i],
        }
        for i, metric in enumerate(CARDS)
    ]
    chart = {
        "metric": state.metric,
        "label": metric_label(state.metric),
        "interval": state.period.interval,
        "points": [
            (_bucket(r.dimensions[0]), r.metrics[0])
            for r in series
            if _bucket(r.dimensions[0]) <= now_local  # no line into the rest of today
        ],
        "previous": [
            (_bucket(r.comparison["dimensions"][0]), r.comparison["metrics"][0])
            for r in series
            if r.comparison
        ]
        if state.compare
        else None,
    }
    period = state.period
    return Page(
        "overview.html",
        {
            "site": site.domain,
            "currency": site.currency,
            "period": {"key": period.key, "from": period.first, "to": period.last},
            "filters": [f.as_query() for f in state.filters],
            "cards": cards,
            "chart": chart,
            "panels": panels.panel_links(ctx),
            "queries": bodies,
        },
    )
