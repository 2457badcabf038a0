"""The overview's breakdown panels: which query each tab runs and how its rows read.

A panel tab is a query body (dimensions by metrics, with the view's filters and sometimes a fixed
filter such as `event:name is rage_click`) and a rule for turning a row into a filter when it is
clicked. Panels with their own shape (web vitals, JS errors) live in `friction.py`. With a goal
chosen, tabs count its conversions (`for_goal`, and `goal.py` for what a goal changes); the goals
panel lists the site's page goals above the custom events (`goal_rows.py`, one query for all of
them). Every
panel is served at `{base}/panels/{key}` (an HTML fragment the overview loads) and its `.json` twin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from clycyo.query.goals import NOT_GOALS
from clycyo.web.dashboard import friction, goal, goal_rows, stats
from clycyo.web.dashboard.labels import dimension_label, metric_label
from clycyo.web.dashboard.params import Filter, ViewState
from clycyo.web.dashboard.routing import Page, ViewContext
from clycyo.web.dashboard.viewer import NotAllowed

ROWS_SHOWN = 10
PROPERTY_KEY = re.compile(r"^[\w.\-]{1,64}\Z")  # keys a filter can name (see params.py)
MAX_ROWS = 500
# Events the tracker sends on its own; the goals panel lists what the site chose to send.
BUILT_IN_EVENTS = ("pageview", *NOT_GOALS)


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...] = ("visitors",)
    fixed: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (op, dimension, values)
    click: str | None = None  # the dimension a clicked row filters on (default: the first)


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    tabs: tuple[Tab, ...]


def _tab(key: str, label: str, dimension: str, *metrics: str) -> Tab:
    return Tab(key, label, (dimension,), metrics or ("visitors",))


MONEY = ("revenue", "orders", "visitors")
PANELS = (
    Panel(
        "pages",
        "Pages",
        (
            Tab(
                "top",
                "Top pages",
                ("event:page",),
                # Time on page and scroll depth read the pages' engagement reports too: the
                # event:name filter chooses the pageviews whose reports count.
                ("visitors", "pageviews", "time_on_page", "scroll_depth"),
                fixed=(("is", "event:name", ("pageview",)),),  # views, not every event on it
            ),
            _tab("entry", "Entry pages", "visit:entry_page", "visitors", "visits"),
            _tab("exit", "Exit pages", "visit:exit_page", "visitors", "visits"),
        ),
    ),
    Panel(
        "sources",
        "Sources",
        (
            _tab("channels", "Channels", "visit:channel"),
            _tab("sources", "Sources", "visit:source"),
            _tab("utm_source", "UTM source", "visit:utm_source"),
            _tab("utm_medium", "UTM medium", "visit:utm_medium"),
            _tab("utm_campaign", "UTM campaign", "visit:utm_campaign"),
            _tab("utm_term", "UTM term", "visit:utm_term"),
            _tab("utm_content", "UTM content", "visit:utm_content"),
        ),
    ),
    Panel(
        "locations",
        "Locations",
        (_tab("countries", "Countries", "visit:country"),),
    ),
    Panel(
        "devices",
        "Devices",
        (
            _tab("devices", "Devices", "visit:device"),
            _tab("browsers", "Browsers", "visit:browser"),
            _tab("os", "Operating systems", "visit:os"),
        ),
    ),
    Panel(
        "goals",
        "Goals & events",
        (
            Tab(
                "events",
                "Goals & events",
                ("event:name",),
                ("visitors", "events", "conversion_rate"),
                fixed=(("is_not", "event:name", tuple(BUILT_IN_EVENTS)),),
            ),
        ),
    ),
    Panel(
        "revenue",
        "Revenue by channel",
        (
            _tab("first_channel", "First touch", "first_touch:channel", *MONEY),
            _tab("last_channel", "Last touch", "last_touch:channel", *MONEY),
            _tab("first_source", "First-touch source", "first_touch:source", *MONEY),
            _tab("first_campaign", "First-touch campaign", "first_touch:utm_campaign", *MONEY),
        ),
    ),
    Panel("vitals", "Web vitals", ()),
    Panel("errors", "JS errors", ()),
    Panel(
        "rage",
        "Rage clicks",
        (
            Tab(
                "selectors",
                "Rage clicks",
                ("event:props:selector", "event:page"),
                ("events", "visitors"),
                fixed=(("is", "event:name", ("rage_click",)),),
                click="event:page",
            ),
        ),
    ),
    Panel(
        "links",
        "Outbound links & downloads",
        (
            Tab(
                "outbound",
                "Outbound links",
                ("event:props:url",),
                ("visitors", "events"),
                fixed=(("is", "event:name", ("outbound_click",)),),
            ),
            Tab(
                "downloads",
                "File downloads",
                ("event:props:url",),
                ("visitors", "events"),
                fixed=(("is", "event:name", ("file_download",)),),
            ),
        ),
    ),
)
BY_KEY = {panel.key: panel for panel in PANELS}


def panel_links(ctx: ViewContext) -> list[dict[str, str]]:
    query = ctx.state.params()
    base = ctx.viewer.base
    return [
        {
            "panel": p.key,
            "title": p.title,
            "html": f"{base}/panels/{p.key}?{query}",
            "json": f"{base}/panels/{p.key}.json?{query}",
        }
        for p in PANELS
    ]


def for_goal(tab: Tab) -> Tab:
    """A tab with a goal chosen: a tab of visits counts, per row, the goal's converters and
    their rate among the row's visitors (the query layer's `conversion_rate`); top pages lists
    the pages the goal's events happened on, with their converters and conversions. Its
    rate would be divided by all the visitors (the query layer's rate by an `event:` dimension),
    not by each page's, so it has none. Other tabs are unchanged."""
    if all(d.startswith("visit:") for d in tab.dimensions):
        return replace(tab, metrics=("conversions", "conversion_rate"))
    if tab.key == "top":
        return replace(tab, metrics=("conversions", "events"), fixed=())
    return tab


def tab_body(tab: Tab, state: ViewState, limit: int) -> dict[str, Any]:
    fixed = [[op, dimension, list(values)] for op, dimension, values in tab.fixed]
    return {
        "metrics": list(tab.metrics),
        "date_range": state.period.date_range(),
        "dimensions": list(tab.dimensions),
        "filters": fixed + state.query_filters(),
        "order_by": [[tab.metrics[0], "desc"]],
        "limit": limit,
    }


def table_rows(tab: Tab, rows: list[stats.Row], state: ViewState) -> list[dict[str, Any]]:
    click = tab.click or tab.dimensions[0]
    click_index = tab.dimensions.index(click)
    top = max((float(r.metrics[0] or 0) for r in rows), default=0.0) or 1.0
    shaped = []
    for row in rows:
        # "(none)" too: the query layer matches it to a missing value, as the row counted it.
        chosen = Filter("is", click, str(row.dimensions[click_index]))
        shaped.append(
            {
                "label": str(row.dimensions[0]),
                "detail": [str(d) for d in row.dimensions[1:]],
                "numbers": row.metrics,
                "share": round(float(row.metrics[0] or 0) / top * 100, 1),
                "filter": chosen.param,
                "link": state.with_filter(chosen),
            }
        )
    return shaped


def _property_tabs(ctx: ViewContext) -> tuple[Tab, ...]:
    """With a custom event's goal chosen (`event:name is X`, or `event:goal is X`), a tab per
    property that goal's events carry."""
    name = goal.custom_event(ctx.state)
    if name is None:
        return ()
    keys = stats.prop_keys(ctx.runtime, ctx.viewer.site, name, ctx.state)
    return tuple(
        _tab(f"prop:{key}", key, f"event:props:{key}", "visitors", "events")
        for key in keys
        if PROPERTY_KEY.match(key)
    )


def unshown(ctx: ViewContext, spec: Panel) -> dict[str, Any] | None:
    """What a panel shows instead of its table with the view's goal (`goal.note`), or None: a
    panel of built-in events a goal does not narrow, the revenue of a goal with no money."""
    if spec.key in goal.UNNARROWED and goal.chosen(ctx.state):
        return goal.note(spec.title, ctx.state)
    if (
        spec.key == "revenue"
        and goal.chosen(ctx.state)
        and not stats.goal_carries_money(ctx.runtime, ctx.viewer.site, ctx.state)
    ):
        return goal.no_money_note(spec.title, ctx.state)
    return None


def tabs_of(ctx: ViewContext, spec: Panel) -> tuple[Tab, ...]:
    """A panel's tabs in this view: the goals panel's property tabs come with a goal."""
    return spec.tabs + (_property_tabs(ctx) if spec.key == "goals" else ())


@dataclass(frozen=True)
class Table:
    """A tab's table as its panel shows it: the tab (as a goal changes it), the columns' names,
    the rows (`table_rows`), the body asked, and what else the panel says of them (the page
    goals' body, the money in other currencies)."""

    tab: Tab
    columns: list[str]
    rows: list[dict[str, Any]]
    query: dict[str, Any]
    more: dict[str, Any]


def tab_table(ctx: ViewContext, spec: Panel, picked: Tab, limit: int) -> Table:
    """The table of `spec`'s tab `picked`, at most `limit` rows of each query."""
    tab = for_goal(picked) if goal.chosen(ctx.state) else picked
    names = goal.COLUMNS if tab is not picked else {}
    body = tab_body(tab, ctx.state, limit)
    answer = stats.run_answer(ctx.runtime, ctx.viewer.site, body)
    found = answer.rows
    if tab is not picked:
        # The goal's rows are those with conversions, as Plausible lists them: a row of
        # visitors of whom none converted is the rate's divisor, not a row of the goal's.
        found = [row for row in found if row.metrics[0]]
    rows = table_rows(tab, found, ctx.state)
    more: dict[str, Any] = {}
    if spec.key == "goals" and tab.key == "events":
        page_rows, page_body = goal_rows.page_goal_rows(ctx, tab.metrics, limit)
        rows = goal_rows.merged(page_rows, rows)
        more["page_goal_query"] = page_body
    # A tab with revenue says which money it leaves out (other currencies are never added).
    if "revenue" in tab.metrics:
        more["currency"] = ctx.viewer.site.currency
        more["other_currencies"] = answer.other_currencies
    columns = [dimension_label(d) for d in tab.dimensions]
    columns += [names.get(m) or metric_label(m) for m in tab.metrics]
    return Table(tab, columns, rows, body, more)


def panel(ctx: ViewContext) -> Page:
    spec = BY_KEY.get(ctx.path_params.get("panel", ""))
    if spec is None:
        raise NotAllowed(404, "no such panel")
    try:
        limit = max(1, min(int(ctx.query.get("limit", ROWS_SHOWN)), MAX_ROWS))
    except ValueError:
        limit = ROWS_SHOWN
    note = unshown(ctx, spec)
    if note is not None:
        return Page("panel_note.html", {"panel": spec.key, "title": spec.title, **note})
    if spec.key in friction.PANELS:
        data = friction.PANELS[spec.key](ctx, limit)
        return Page(f"panel_{spec.key}.html", {"panel": spec.key, "title": spec.title, **data})
    tabs = tabs_of(ctx, spec)
    picked = next((t for t in tabs if t.key == ctx.query.get("tab")), tabs[0])
    table = tab_table(ctx, spec, picked, limit)
    return Page(
        "panel.html",
        {
            "panel": spec.key,
            "title": spec.title,
            "tab": table.tab.key,
            "tabs": [{"tab": t.key, "label": t.label} for t in tabs],
            "columns": table.columns,
            "metrics": list(table.tab.metrics),
            "rows": table.rows,
            "limit": limit,
            "query": table.query,
            **table.more,
        },
    )
