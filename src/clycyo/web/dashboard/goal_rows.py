"""The page goals' rows of the goals panel: "Visit /pricing" beside the custom events.

Each page goal of the site's (`config/goals.py`) is one query body: visitors, events (its
matching pageviews) and conversion rate under the view's filters and `event:goal is` the goal,
so a row reads as a custom event's row does and a click on it chooses the goal
(`is,event:goal,Visit /pricing`). A goal with no visitor in the view has no row, as an event
that did not happen has none. The rows come above the custom events'; every row's bar is a share
of the largest. This module builds bodies and rows; the query layer counts.
"""

from __future__ import annotations

from typing import Any

from clycyo.config.goals import PageGoalStore
from clycyo.web.dashboard import stats
from clycyo.web.dashboard.params import Filter, ViewState
from clycyo.web.dashboard.routing import ViewContext

GOAL = "event:goal"


def goal_body(name: str, metrics: tuple[str, ...], state: ViewState) -> dict[str, Any]:
    return {
        "metrics": list(metrics),
        "date_range": state.period.date_range(),
        "filters": [["is", GOAL, [name]], *state.query_filters()],
    }


def page_goal_rows(
    ctx: ViewContext, metrics: tuple[str, ...], limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the site's page goals that had visitors (most first), and the bodies asked."""
    site = ctx.viewer.site
    bodies = [
        goal_body(g.name, metrics, ctx.state)
        for g in PageGoalStore(ctx.runtime.config).list(site.id)[:limit]
    ]
    shaped = []
    for body in bodies:
        name = body["filters"][0][2][0]
        found = stats.run_query(ctx.runtime, site, body)
        numbers = found[0].metrics if found else []
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
    shaped.sort(key=lambda row: -float(row["numbers"][0] or 0))
    return shaped, bodies


def merged(first: list[dict[str, Any]], then: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two tables' rows as one, each bar a share of the largest first number of both."""
    rows = first + then
    top = max((float(r["numbers"][0] or 0) for r in rows), default=0.0) or 1.0
    return [{**r, "share": round(float(r["numbers"][0] or 0) / top * 100, 1)} for r in rows]
