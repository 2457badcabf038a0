"""The overview's Filter control: what it offers, the GET that adds its filter to the view, and
the values it suggests (`suggest.json`).

The control is a plain GET form to `{base}/filter` carrying the view's state as hidden fields;
that address answers with a redirect to the view with the new filter (one per dimension, as a
click on a panel's row), so the URL stays the view's own and works without JavaScript. The
suggestions are the top values of a dimension under the view's period and its other filters,
containing the text typed, asked of the query layer as a query body (a `contains` filter): no
SQL here, the values only ever parameters. Only the dimensions the form offers, and
`event:props:KEY` with a key a filter can name, are taken. The choices are fixed, so the
overview asks nothing for them; the property keys (`suggest.json?dimension=property`) are asked
by the page's script once it has loaded. This module renders no markup.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from clycyo.query.goals import GOAL
from clycyo.query.goals import OPERATORS as GOAL_OPERATORS
from clycyo.web.dashboard import goal, stats
from clycyo.web.dashboard.labels import dimension_label
from clycyo.web.dashboard.panels import PROPERTY_KEY
from clycyo.web.dashboard.params import (
    MAX_FILTER_VALUE_CHARS,
    MAX_FILTERS,
    OPERATORS,
    ViewState,
    parse_filter,
)
from clycyo.web.dashboard.routing import Page, ViewContext
from clycyo.web.dashboard.viewer import NotAllowed

DIMENSIONS = (
    "event:page",
    "visit:entry_page",
    "visit:exit_page",
    "event:hostname",
    "visit:source",
    "visit:channel",
    "visit:referrer",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
    "visit:utm_term",
    "visit:utm_content",
    "visit:country",
    "visit:region",
    "visit:city",
    "visit:device",
    "visit:browser",
    "visit:os",
    GOAL,
)
PROPERTY = "event:props:"
# `suggest.json?dimension=property`: the property keys a filter can name.
KEYS = "property"
MAX_SUGGESTIONS = 20
# A goal is a breakdown of its own that takes no `contains`: its few rows are matched here.
MAX_GOALS = 500


def known(dimension: str) -> bool:
    """Whether the form takes `dimension`: one it offers, or a property a filter can name."""
    if dimension in DIMENSIONS:
        return True
    key = dimension.removeprefix(PROPERTY)
    return dimension.startswith(PROPERTY) and PROPERTY_KEY.match(key) is not None


def property_keys(ctx: ViewContext) -> list[str]:
    """The property keys of the chosen goal's events, else of pageviews, a filter can name. A
    goal chosen here (`event:goal is X`) is the events named X, or pageviews for a page goal."""
    name = goal.custom_event(ctx.state) or "pageview"
    keys = stats.prop_keys(ctx.runtime, ctx.viewer.site, name, ctx.state)
    return [key for key in keys if PROPERTY_KEY.match(key)]


FORM_DATA = {
    "filter_choices": {
        "dimensions": [[d, dimension_label(d)] for d in DIMENSIONS],
        "operators": [[op, label] for op, label in OPERATORS.items()],
    }
}


def _dimension(query: dict[str, str]) -> str:
    dimension = query.get("dimension", "")
    if not known(dimension):
        raise NotAllowed(400, f"dimension: unknown dimension {dimension!r}")
    return dimension


def add_filter(ctx: ViewContext) -> Response:
    """Redirect to the view with the form's filter (replacing one on the same dimension); with
    no value, to the view as it was."""
    state, base = ctx.state, ctx.viewer.base
    value = ctx.query.get("value", "").strip()
    if not value:
        return RedirectResponse(f"{base}?{state.params()}", status_code=303)
    dimension, op = _dimension(ctx.query), ctx.query.get("op", "")
    if dimension == GOAL and op not in GOAL_OPERATORS:
        raise NotAllowed(400, "op: a goal takes is or is not")
    new = parse_filter(f"{op},{dimension},{value}")
    if new is None:
        raise NotAllowed(
            400, f"op, value: one of {', '.join(OPERATORS)}, and at most "
            f"{MAX_FILTER_VALUE_CHARS} characters"
        )  # fmt: skip
    if len([f for f in state.filters if f.dimension != dimension]) >= MAX_FILTERS:
        raise NotAllowed(400, f"f: at most {MAX_FILTERS} filters")
    return RedirectResponse(f"{base}?{state.with_filter(new)}", status_code=303)


def suggest_body(state: ViewState, dimension: str, text: str) -> dict[str, Any]:
    """The query of the values of `dimension` containing `text` (any case), most visitors
    first, under the view's period and its filters on other dimensions."""
    filters = [f.as_query() for f in state.filters if f.dimension != dimension]
    of_goals = dimension == GOAL
    if text and not of_goals:
        filters.append(["contains", dimension, [text]])
    return {
        "metrics": ["visitors"],
        "date_range": state.period.date_range(),
        "dimensions": [dimension],
        "filters": filters,
        "order_by": [["visitors", "desc"]],
        "limit": MAX_GOALS if of_goals else MAX_SUGGESTIONS,
    }


def suggest(ctx: ViewContext) -> Page:
    """`suggest.json?dimension=D&q=TEXT`: up to MAX_SUGGESTIONS values with their visitors; with
    `dimension=property`, the property keys a filter can name (`property_keys`), as dimensions."""
    text = ctx.query.get("q", "")
    if len(text) > MAX_FILTER_VALUE_CHARS:
        raise NotAllowed(400, f"q: at most {MAX_FILTER_VALUE_CHARS} characters")
    if ctx.query.get("dimension") == KEYS:
        keys = [k for k in property_keys(ctx) if text.lower() in k.lower()]
        found = [{"value": PROPERTY + k, "label": dimension_label(PROPERTY + k)} for k in keys]
        return Page("", {"dimension": KEYS, "q": text, "suggestions": found})
    dimension = _dimension(ctx.query)
    body = suggest_body(ctx.state, dimension, text)
    rows = stats.run_query(ctx.runtime, ctx.viewer.site, body)
    values = [
        {"value": str(row.dimensions[0]), "visitors": row.metrics[0]}
        for row in rows
        if dimension != GOAL or text.lower() in str(row.dimensions[0]).lower()
    ]
    return Page(
        "",
        {
            "dimension": dimension,
            "label": dimension_label(dimension),
            "q": text,
            "suggestions": values[:MAX_SUGGESTIONS],
            "query": body,
        },
    )
