"""The overview as a zip of CSV files: what the view shows, report by report.

`GET {base}/export` with a view's query string answers `<site>_<from>_<to>.zip` for exactly
that view's period, filters and goal (the comparison is left out): the numbers over time, then a
file per panel tab, each with the columns the panel names and the rows its `.json` twin lists,
from the same code (`panels.tab_table`, `friction.py`): the same bodies run through the query
layer, so a file and its panel cannot disagree. Beside Plausible's reports come Clycyo's own:
revenue by first- and last-touch channel, web vitals (by page too), JS errors, rage clicks,
outbound links and file downloads.
Regions and cities come only when some visit has one; with one goal (`event:name is X`) chosen,
its properties (`custom_props.csv`); a panel the goal leaves out (`panels.unshown`) has no file.
The period's annotations, when it has some, are `annotations.csv`.

Each file holds at most `MAX_ROWS` rows (the query layer's largest limit); the files are written
one at a time into a zip that spills to disk past a megabyte (`export_files.py`). It reaches
what the overview reaches: a login, a credential the `.json` twins take, or a shared link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from clycyo.query.spec import MAX_LIMIT
from clycyo.web.dashboard import annotations as chart_annotations
from clycyo.web.dashboard import friction, goal, overview, panels, stats
from clycyo.web.dashboard.export_files import CsvTable, chunks, spooled_zip
from clycyo.web.dashboard.labels import dimension_label
from clycyo.web.dashboard.params import Period
from clycyo.web.dashboard.rendering import SECURITY_HEADERS
from clycyo.web.dashboard.routing import ViewContext

MAX_ROWS = MAX_LIMIT
# The file of each panel tab (Plausible's names where it has the report).
FILES = {
    "top": "pages",
    "entry": "entry_pages",
    "exit": "exit_pages",
    "channels": "channels",
    "sources": "sources",
    "utm_source": "utm_sources",
    "utm_medium": "utm_mediums",
    "utm_campaign": "utm_campaigns",
    "utm_term": "utm_terms",
    "utm_content": "utm_contents",
    "countries": "countries",
    "devices": "devices",
    "browsers": "browsers",
    "os": "operating_systems",
    "events": "conversions",
    "first_channel": "revenue_first_touch_channel",
    "last_channel": "revenue_last_touch_channel",
    "first_source": "revenue_first_touch_source",
    "first_campaign": "revenue_first_touch_campaign",
    "selectors": "rage_clicks",
    "outbound": "outbound_links",
    "downloads": "file_downloads",
}
# Locations no panel shows, exported when some visit has one.
PLACES = (
    panels.Tab("regions", "Regions", ("visit:region",)),
    panels.Tab("cities", "Cities", ("visit:city",)),
)


def file_name(domain: str, period: Period) -> str:
    """`<site>_<from>_<to>.zip`, with nothing a header or a file system would misread."""
    site = re.sub(r"[^A-Za-z0-9.\-]", "_", domain)
    return f"{site}_{period.first.isoformat()}_{period.last.isoformat()}.zip"


def visitors_table(ctx: ViewContext, money: bool) -> CsvTable:
    """The totals' numbers per bucket of the chart (the buckets begun by now): with a goal, its
    visitors (as its card's) and its conversions."""
    state = ctx.state
    dimension = f"time:{state.period.interval}"
    metrics = list(overview.cards_of(state, money))
    body = {**overview.totals_body(state, money), "dimensions": [dimension]}
    found = {
        row.dimensions[0]: row.metrics
        for row in stats.run_query(ctx.runtime, ctx.viewer.site, body)
    }
    if goal.chosen(state):
        visitors_body = {**overview.visitors_body(state), "dimensions": [dimension]}
        visitors = stats.run_query(ctx.runtime, ctx.viewer.site, visitors_body)
        rows = [[r.dimensions[0], *r.metrics, *found.get(r.dimensions[0], [])] for r in visitors]
    else:
        rows = [[label, *numbers] for label, numbers in found.items()]
    now = ctx.viewer.now()
    rows = [row for row in rows if overview.begun(overview.bucket(row[0]), now)]
    header = [dimension_label(dimension)] + [goal.label(m, state) for m in metrics]
    return CsvTable("visitors.csv", header, rows)


def tab_tables(ctx: ViewContext) -> Iterator[CsvTable]:
    """A file per tab of each panel of plain tables, as the panel shows it."""
    for spec in panels.PANELS:
        if spec.key in friction.PANELS or panels.unshown(ctx, spec) is not None:
            continue
        props = CsvTable("custom_props.csv", [], [])
        for tab in panels.tabs_of(ctx, spec):
            table = panels.tab_table(ctx, spec, tab, MAX_ROWS)
            rows = [[r["label"], *r["detail"], *r["numbers"]] for r in table.rows[:MAX_ROWS]]
            if not tab.key.startswith("prop:"):
                name = FILES.get(tab.key, f"{spec.key}_{tab.key}")
                yield CsvTable(f"{name}.csv", table.columns, rows)
                continue
            # The goal's properties, one tab each on the panel, are one file.
            found = [*props.rows, *([tab.label, *row] for row in rows)][:MAX_ROWS]
            props = CsvTable(props.name, ["Property", "Value", *table.columns[1:]], found)
        if props.header:
            yield props


def place_tables(ctx: ViewContext) -> Iterator[CsvTable]:
    """Regions and cities, each when some visit of the view has one."""
    for tab in PLACES:
        table = panels.tab_table(ctx, panels.BY_KEY["locations"], tab, MAX_ROWS)
        if any(row["label"] != stats.NONE_LABEL for row in table.rows):
            rows = [[r["label"], *r["numbers"]] for r in table.rows]
            yield CsvTable(f"{tab.key}.csv", table.columns, rows)


def vitals_of(ctx: ViewContext) -> dict[str, Any] | None:
    """The web vitals panel's table, None when it shows none: with a goal (a note), or under a
    first- or last-touch filter, which their percentiles cannot take (the panel says why, and
    the view's other files go without them)."""
    if panels.unshown(ctx, panels.BY_KEY["vitals"]) is not None:
        return None
    try:
        return friction.vitals_panel(ctx, MAX_ROWS)
    except stats.QueryFailed:
        return None


def friction_tables(ctx: ViewContext) -> Iterator[CsvTable]:
    """Web vitals (each metric's p75 and ratings, then each page's p75) and JS errors."""
    vitals = vitals_of(ctx)
    if vitals is not None:
        shown = [m["metric"] for m in vitals["metrics"]]
        yield CsvTable(
            "web_vitals.csv",
            ["Metric", "p75", "Unit", "Good (%)", "Needs improvement (%)", "Poor (%)", "Samples"],
            [
                [
                    m["metric"],
                    m["p75"],
                    m["unit"],
                    *(m[r] for r in friction.RATINGS),
                    int(m["samples"]),
                ]
                for m in vitals["metrics"]
            ],
        )
        yield CsvTable(
            "web_vitals_pages.csv",
            ["Page", *(f"{m} p75" for m in shown)],
            [
                [p["page"], *(p["metrics"].get(m, {}).get("p75") for m in shown)]
                for p in vitals["pages"]
            ],
        )
    if panels.unshown(ctx, panels.BY_KEY["errors"]) is None:
        # The panel's rows without the pages each error hit, which the file does not list.
        messages, _ = friction.error_messages(ctx, MAX_ROWS)
        rows = [[str(r.dimensions[0]), r.metrics[0], r.metrics[1]] for r in messages]
        yield CsvTable("js_errors.csv", ["Error", "Count", "Visitors"], rows)


def tables(ctx: ViewContext) -> Iterator[CsvTable]:
    """Every file of the view's export, one query's rows at a time."""
    money = not goal.chosen(ctx.state) or stats.goal_carries_money(
        ctx.runtime, ctx.viewer.site, ctx.state
    )
    yield visitors_table(ctx, money)
    yield from tab_tables(ctx)
    yield from place_tables(ctx)
    yield from friction_tables(ctx)
    notes = chart_annotations.period_rows(ctx.runtime, ctx.viewer.site, ctx.state.period)
    if notes:
        yield CsvTable("annotations.csv", ["Time (UTC)", "Local time", "Annotation"], notes)


def download(ctx: ViewContext) -> Response:
    """The view's export as a zip download."""
    file, size = spooled_zip(tables(ctx))
    name = file_name(ctx.viewer.site.domain, ctx.state.period)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Length": str(size),
    }
    return StreamingResponse(
        chunks(file),
        media_type="application/zip",
        headers=headers,
        background=BackgroundTask(file.close),
    )
