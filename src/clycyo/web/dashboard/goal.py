"""The overview with a goal chosen: what each part counts once the view names events.

A goal is a filter that keeps events of some name (`event:name is X`) or a goal of the site's
(`event:goal is Visit /pricing`, the pageviews a page goal's pattern matches), added by a click
on a row of the goals panel. With one, the overview reads as Plausible's does:

- the totals: unique visitors under the view's other filters, the unique and total conversions,
  and the conversion rate (the query layer's: converters among those visitors);
- a tab of visits (sources, locations, devices, entry and exit pages): per row, conversions and
  the query layer's conversion rate among that row's visitors (`panels.for_goal`);
- the top pages tab: the pages the goal's events happened on, not pageviews (for a page goal,
  the pages its pattern matched);
- the panels of built-in events of their own kind (web vitals, JS errors, rage clicks, outbound
  links and downloads): a note that a goal does not narrow them, since no filter reads "of the
  persons who did X", and a link to the view without the goal, rather than an empty table;
- money, as Plausible shows it for revenue goals only: the revenue total and the revenue panel
  for a goal whose events ever carried money (`revenue/goals.py`), and for any other goal (a
  page goal, a custom event reported without an amount) no revenue total, and in the revenue
  panel a note saying so, rather than zeros (`totals`, `no_money_note`).

The visitors the rate divides by keep the view's filters but the event ones, except a page's
(`event:page`, `event:hostname`): with a goal, a page filter is where it happened, and its
visitors are that page's (see docs/query-api.md, "Conversion rate"). This module runs no query.
"""

from __future__ import annotations

from typing import Any

from clycyo.config.goals import PREFIX as PAGE_GOAL
from clycyo.query.goals import GOAL
from clycyo.web.dashboard.labels import metric_label
from clycyo.web.dashboard.params import GOAL_DIMENSIONS, ViewState, goal_chosen

PAGES = ("event:page", "event:hostname")
# The totals beside the visitors, all under every filter of the view.
TOTALS = ("conversions", "events", "conversion_rate", "revenue")
LABELS = {
    "visitors": "Unique visitors",
    "conversions": "Unique conversions",
    "events": "Total conversions",
    "conversion_rate": "Conversion rate",
}
COLUMNS = {"events": "Total conversions", "conversion_rate": "CR"}
# Panels of built-in events (`web_vital`, `js_error`, `rage_click`, `outbound_click`,
# `file_download`) that a goal would empty.
UNNARROWED = ("vitals", "errors", "rage", "links")


def totals(money: bool) -> tuple[str, ...]:
    """The goal's totals: revenue only for a goal that carries money."""
    return TOTALS if money else tuple(m for m in TOTALS if m != "revenue")


def chosen(state: ViewState) -> bool:
    """Whether the view keeps events of some names or goals (`params.goal_chosen`)."""
    return goal_chosen(state.filters)


def custom_event(state: ViewState) -> str | None:
    """The custom event the view's goal is, if it is one: `event:name is X`, or `event:goal is
    X` where X is no page goal (`Visit /…`)."""
    named = state.filtered_by("event:name")
    if named is not None:
        return named
    goal = state.filtered_by(GOAL)
    return goal if goal is not None and not goal.startswith(PAGE_GOAL) else None


def label(metric: str, state: ViewState) -> str:
    """A total's name: with a goal, visitors, conversions and events read as Plausible's."""
    return LABELS.get(metric, metric_label(metric)) if chosen(state) else metric_label(metric)


def visitor_filters(state: ViewState) -> list[list[object]]:
    """The filters of the visitors a goal's conversion rate divides by (as the query layer's)."""
    return [
        f.as_query()
        for f in state.filters
        if not f.dimension.startswith("event:") or f.dimension in PAGES
    ]


def note(title: str, state: ViewState) -> dict[str, Any]:
    """What a panel a goal does not narrow shows instead: the note and the view without the goal
    (its `event:name` and `event:goal` filters and the goal's property filters)."""
    kept = tuple(
        f
        for f in state.filters
        if f.dimension not in GOAL_DIMENSIONS and not f.dimension.startswith("event:props:")
    )
    return {
        "narrowed_by_goal": False,
        "note": f"{title} are not narrowed by a goal: remove the goal filter to see them.",
        "without_goal": state.params(filters=kept),
    }


def no_money_note(title: str, state: ViewState) -> dict[str, Any]:
    """What the revenue panel shows for a goal that never carried money: the note and the view
    without the goal."""
    return {
        **note(title, state),
        "goal_carries_money": False,
        "note": "The goal's events never carried money, so it has no revenue.",
        "link_text": "Show the site's revenue without the goal",
    }
