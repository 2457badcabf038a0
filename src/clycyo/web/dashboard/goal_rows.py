"""The page goals' rows of the goals panel: "Visit /pricing" beside the custom events.

The site's page goals (`config/goals.py`) are one query body, whatever their number: visitors,
events (the matching pageviews) and conversion rate by `event:goal`, under the view's filters
and `event:goal is` every page goal, so each row has the numbers of a query filtered by its
goal alone (the query layer puts a pageview in the row of every goal it matches), reads as a
custom event's row does, and a click on it chooses the goal (`is,event:goal,Visit /pricing`).
A goal with no visitor in the view has no row, as an event that did not happen has none. The
rows come above the custom events', most visitors first (the site's goals in the order they
were made among equals); every row's bar is a share of the largest. This module builds the body
and the rows; the query layer counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clycyo.config.goals import PageGoalStore
from clycyo.web.dashboard import stats
from clycyo.web.dashboard.params import Filter, ViewState
from clycyo.web.dashboard.routing import ViewContext

GOAL = "event:goal"


def goals_body(names: Sequence[str], metrics: tuple[str, ...], state: ViewState) -> dict[str, Any]:
    """The query of the goals `names`' rows (a site has at most as many page goals as a filter
    takes values, and the body asks for every row)."""
    return {
        "metrics": list(metrics),
        "date_range": state.period.date_range(),
        "dimensions": [GOAL],
        "filters": [["is", GOAL, list(names)], *state.query_filters()],
        "order_by": [[metrics[0], "desc"]],
        "limit": len(names),
    }


def page_goal_rows(
    ctx: ViewContext, metrics: tuple[str, ...], limit: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The rows of the site's page goals that had visitors (most first, at most `limit`), and
    the body asked (None: the site has no page goal, and nothing is asked)."""
    site = ctx.viewer.site
    names = [g.name for g in PageGoalStore(ctx.runtime.config).list(site.id)]
    if not names:
        return [], None
    body = goals_body(names, metrics, ctx.state)
    found = {row.dimensions[0]: row.metrics for row in stats.run_query(ctx.runtime, site, body)}
    shaped: list[dict[str, Any]] = []
    for name in names:
        numbers = found.get(name)
        if not numbers or not numbers[0]:
            continue
        chosen = Filter("is", GOAL, name)
        shaped.append(
            {
                "label": name,
                "detail": [],
                "numbers": numbers,
                "share": 0.0,
                "filter": chosen.param,
                "link": ctx.state.with_filter(chosen),
            }
        )
    shaped.sort(key=lambda row: -float(row["numbers"][0] or 0))  # stable: equals keep their order
    return shaped[:limit], body


def merged(first: list[dict[str, Any]], then: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two tables' rows as one, each bar a share of the largest first number of both."""
    rows = first + then
    top = max((float(r["numbers"][0] or 0) for r in rows), default=0.0) or 1.0
    return [{**r, "share": round(float(r["numbers"][0] or 0) / top * 100, 1)} for r in rows]
