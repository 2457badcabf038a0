"""A site's main view: the top numbers, the time-series chart and the panels' addresses.

The first render runs only the queries above the fold (the totals and the chart, for this period
and the one it is compared with); each panel then loads from its own address, so a slow panel
never holds the page back. The `.json` twin carries the same numbers, the query bodies behind
them and the panels' `.json` addresses.

The totals compare like with like: a period that runs to now (today, the last 7 days …) or
beyond is compared with as much of the previous period (or of the same days a year before, with
`compare=year`) as has passed of it, so at 06:00 today's first six hours meet yesterday's first
six, not all of yesterday. A ratio of no visits (bounce rate, visit duration) is no value, shown
as a dash with no change, whatever the query layer reports. A site that has never received an
event gets the tracker snippet instead of empty charts.
With a goal chosen the totals are the goal's (`goal.py`): the visitors under the other filters
(a query of their own), the unique and total conversions, the conversion rate, and revenue when
the goal carries money.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from clycyo.query import timeseries
from clycyo.query.dates import year_earlier
from clycyo.web.dashboard import annotations as chart_annotations
from clycyo.web.dashboard import filter_form, goal, panels, stats
from clycyo.web.dashboard.params import API_COMPARISONS, ViewState, default_metric
from clycyo.web.dashboard.routing import Page, ViewContext
from clycyo.web.dashboard.segments import segment_data
from clycyo.web.dashboard.settings import tracker_snippet

# The query layer reports a change of a percentage in points, of anything else in percent.
UNITS = {
    "bounce_rate": "percent",
    "conversion_rate": "percent",
    "visit_duration": "seconds",
    "revenue": "money",
}
CARDS = (
    "visitors",
    "visits",
    "pageviews",
    "bounce_rate",
    "visit_duration",
    "conversions",
    "revenue",
)
PER_VISIT = ("bounce_rate", "visit_duration")  # no visits: no value
# The chart's second line and the totals' "before" value, by `compare`.
COMPARED_LABELS = {"previous": "Previous period", "year": "A year before"}
# Whether a site has any event at all, asked only when a period is empty (the longest range the
# query layer takes).
EVER_BODY = {"metrics": ["events"], "date_range": "3660d"}


def _include(state: ViewState) -> dict[str, Any]:
    compared = state.compared_period()
    if compared is None:
        return {}
    if state.compare == "custom":
        return {"include": {"comparison": {"date_range": compared.date_range()}}}
    return {"include": {"comparison": API_COMPARISONS[state.compare]}}


def _compared_label(state: ViewState) -> str | None:
    """The name of the chart's second line: what it compares with (a custom range: its days)."""
    compared = state.compared_period()
    if state.compare == "custom" and compared is not None:
        return f"{compared.first.isoformat()} to {compared.last.isoformat()}"
    return COMPARED_LABELS.get(state.compare)


def cards_of(state: ViewState, money: bool = True) -> tuple[str, ...]:
    """The totals shown: with a goal, the visitors (`visitors_body`) and then the goal's (with
    revenue if it carries `money`)."""
    return ("visitors", *goal.totals(money)) if goal.chosen(state) else CARDS


def totals_body(state: ViewState, money: bool = True) -> dict[str, Any]:
    return {
        "metrics": list(goal.totals(money) if goal.chosen(state) else CARDS),
        "date_range": state.period.date_range(),
        "filters": state.query_filters(),
    }


def visitors_body(state: ViewState) -> dict[str, Any]:
    """With a goal: the visitors its conversion rate divides by (the filters but the goal's)."""
    return {
        "metrics": ["visitors"],
        "date_range": state.period.date_range(),
        "filters": goal.visitor_filters(state),
    }


def previous_totals_body(state: ViewState, now: dt.datetime, money: bool = True) -> dict[str, Any]:
    """The totals of the period compared with (the previous one, the same days a year before,
    or a custom range); when this period reaches today or beyond, only as much of it as has
    happened of this one, so a day under way is compared with the same hours of the day before,
    and a range ending next week with as many days and hours of the one before. The time passed
    is cut at the compared period's end: a custom range may be shorter. The year before is cut at
    the same clock time a year earlier (`passed_a_year_before`), not after as long a time: with
    a 29 February on either side, that would be a day off."""
    compared = state.compared_period() or state.period.previous()
    date_range: list[str] = compared.date_range()
    if state.period.last >= now.date():
        start = dt.datetime.combine(compared.first, dt.time())
        end = dt.datetime.combine(compared.last + dt.timedelta(days=1), dt.time())
        now = now.replace(microsecond=0)
        if state.compare == "year":
            cut = passed_a_year_before(state.period.first, now)
        else:
            cut = start + (now - dt.datetime.combine(state.period.first, dt.time()))
        cut = min(max(cut, start + dt.timedelta(seconds=1)), end)
        date_range = [start.isoformat(), cut.isoformat()]
    return {**totals_body(state, money), "date_range": date_range}


def passed_a_year_before(first: dt.date, now: dt.datetime) -> dt.datetime:
    """Where the year before of a period from `first` has passed as far as the period has by
    `now` (naive, the site's): the same clock time a year earlier; on 29 February, which meets
    the 28th a year before, all of that 28th once the period's 28 February has passed too."""
    if (now.month, now.day) == (2, 29) and first < now.date():
        return dt.datetime(now.year - 1, 3, 1)
    return year_earlier(now)


def card_values(
    rows: list[stats.Row], visitors: list[stats.Row] | None = None, money: bool = True
) -> list[Any]:
    """The totals of one period, with no value for a ratio of no visits; with a goal, the
    goal's visitors (`visitors`) first."""
    if visitors is not None:
        nothing = [None if m == "conversion_rate" else 0 for m in goal.totals(money)]
        goal_values = list(rows[0].metrics) if rows else nothing
        return [visitors[0].metrics[0] if visitors else 0, *goal_values]
    values = list(rows[0].metrics) if rows else [0] * len(CARDS)
    if not values[CARDS.index("visits")]:
        for metric in PER_VISIT:
            values[CARDS.index(metric)] = None
    return values


def change(metric: str, now: Any, before: Any) -> float | None:
    """As the query layer reports a change: points for a percentage, else percent of before."""
    if now is None or before is None:
        return None
    if UNITS.get(metric) == "percent":
        return round(float(now) - float(before), 2)
    if not before:
        return None
    return round(100.0 * (float(now) - float(before)) / float(before), 1)


def series_body(state: ViewState) -> dict[str, Any]:
    """The chart's query: with a goal, visitors are those of its card (`visitors_body`)."""
    visitors = goal.chosen(state) and state.metric == "visitors"
    return {
        "metrics": [state.metric],
        "date_range": state.period.date_range(),
        "dimensions": [f"time:{state.period.interval}"],
        "filters": goal.visitor_filters(state) if visitors else state.query_filters(),
        **_include(state),
    }


def bucket(label: object) -> str:
    """A bucket label as a full local time (`2026-11-20` → `2026-11-20T00:00:00`); the two
    buckets of a repeated hour keep the UTC offset that tells them apart
    (`2026-10-25T02:00:00+01:00`)."""
    text = str(label)
    return text if "T" in text else f"{text}T00:00:00"


def begun(label: str, local_now: dt.datetime) -> bool:
    """Whether a bucket (`bucket`'s text) has begun by `local_now` (naive, the site's). A naive
    label is a local time that happens once, so comparing local times is enough."""
    start = dt.datetime.fromisoformat(label)
    if start.tzinfo is None:
        return start <= local_now
    return start.astimezone(dt.UTC) <= dt.datetime.now(dt.UTC)


def _offsets(labels: list[str], timezone: str) -> list[str]:
    """Each hour's UTC offset (`+02:00`), which places it at its instant on the chart: an
    hour's label carries its offset only when its local time happens twice."""
    return [timeseries.hour_began(text, timezone).isoformat()[19:] for text in labels]


def overview(ctx: ViewContext) -> Page:
    state, site = ctx.state, ctx.viewer.site
    local_now = ctx.viewer.now()
    with_goal = goal.chosen(state)
    money = not with_goal or stats.goal_carries_money(ctx.runtime, site, state)
    if not money and state.metric == "revenue":
        # A goal with no money has no revenue to chart (a link kept `metric=revenue` from a
        # view without it): its default chart, not a line of zeros.
        state = replace(state, metric=default_metric(state.filters))
    bodies = {"totals": totals_body(state, money), "series": series_body(state)}
    if with_goal:
        bodies["visitors"] = visitors_body(state)
    if state.comparing:
        bodies["previous_totals"] = previous_totals_body(state, local_now, money)
        if with_goal:
            before = bodies["previous_totals"]["date_range"]
            bodies["previous_visitors"] = {**bodies["visitors"], "date_range": before}
    # All at once: each waits on the engine, and the first render waits for the slowest.
    with ThreadPoolExecutor(len(bodies)) as pool:
        jobs = {
            name: pool.submit(stats.run_answer, ctx.runtime, site, body)
            for name, body in bodies.items()
        }
        answers = {name: job.result() for name, job in jobs.items()}
    found = {name: answer.rows for name, answer in answers.items()}
    series = found["series"]
    now = card_values(found["totals"], found.get("visitors"), money)
    before = (
        card_values(found["previous_totals"], found.get("previous_visitors"), money)
        if state.comparing
        else None
    )
    shown = cards_of(state, money)
    cards = [
        {
            "metric": metric,
            "label": goal.label(metric, state),
            "unit": UNITS.get(metric, "count"),
            "value": now[i],
            "previous": None if before is None else before[i],
            "change": None if before is None else change(metric, now[i], before[i]),
        }
        for i, metric in enumerate(shown)
    ]
    # Revenue counts the site's currency only; money in others is shown beside it, never added.
    if money:
        cards[shown.index("revenue")]["other_currencies"] = answers["totals"].other_currencies
    empty = not any(now[i] for i, m in enumerate(shown) if m not in PER_VISIT) and not any(
        row.metrics[0] for row in stats.run_query(ctx.runtime, site, EVER_BODY)
    )
    points = [
        (bucket(r.dimensions[0]), r.metrics[0])
        for r in series
        if begun(bucket(r.dimensions[0]), local_now)  # no line into the rest of today
    ]
    hourly = state.period.interval == "hour"
    chart: dict[str, Any] = {
        "metric": state.metric,
        "label": goal.label(state.metric, state),
        "interval": state.period.interval,
        "points": points,
        "offsets": _offsets([p[0] for p in points], site.timezone) if hourly else None,
        "previous": [
            (bucket(r.comparison["dimensions"][0]), r.comparison["metrics"][0])
            for r in series
            if r.comparison
        ]
        if state.comparing
        else None,
        "previous_label": _compared_label(state),
    }
    # The notes of the period, each at its bucket (not who made them: a shared link reads this).
    chart["annotations"] = chart_annotations.on_chart(
        ctx.runtime, site, state.period, [p[0] for p in points]
    )
    period = state.period
    return Page(
        "overview.html",
        {
            "site": site.domain,
            "currency": site.currency,
            "period": {"key": period.key, "from": period.first, "to": period.last},
            "filters": [f.as_query() for f in state.filters],
            "compare": state.compare,
            "cards": cards,
            "chart": chart,
            "panels": panels.panel_links(ctx),
            "queries": bodies,
            "empty": empty,
            **segment_data(ctx.runtime, ctx.viewer, state),
            **filter_form.FORM_DATA,
            "_snippet": tracker_snippet(ctx.request, site) if empty else "",
        },
    )
