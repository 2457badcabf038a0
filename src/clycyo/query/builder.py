"""SQL for one plan: a base relation, its metrics, dimensions and filters, in one dialect.

The statement has three stages. `src` selects the base rows (live visits, events or ledger
rows) of the site and period, with their person, time, dimension values and the inputs of every
partial aggregate. `grouped` aggregates them per dimension values; the last stage applies each
metric's final expression. Distinct counts are exact, or with `Plan.approximate` estimated by
linear counting over a bitmap per group (`registry.AGGREGATES`), which the runner uses only for
few groups at a time. First and last touch are joined between `src` and `grouped`, for the
persons in `src` only (`touches.py`); a conversion rate's rows keep to the visitors it divides
by (`rate_visitors.py`); `statement.py` holds the plan and what the stages gather. The
`page_visitors` base has one stage more: `page_rows` selects the pageviews and engagement reports
(from `pageviews` and `engagements` where the query's event dimensions and filters are fields
those have, else from `events`), and `src` holds one row per visitor, page and group (where that
visitor viewed the page) with the partials' inputs aggregated over their rows.

Identifiers come from the registry; every value (site, period, filter values, property keys,
currency, time zone) is a parameter.
"""

from __future__ import annotations

from typing import Any

from clycyo.identity import keys, persons
from clycyo.query import registry
from clycyo.query.conditions import (
    Params,
    condition,
    event_condition,
    event_expression,
    page_key_condition,
    through_visit,
)
from clycyo.query.dates import Period
from clycyo.query.rate_visitors import among_touched_visitors, among_visitors
from clycyo.query.registry import EVENTS, LEDGER, PAGE_VISITORS, VISITS, Partial
from clycyo.query.spec import Filter
from clycyo.query.statement import Grouping, Plan, SiteContext, Statement, time_expression
from clycyo.query.touches import touch_expression, touched_source
from clycyo.revenue.ledger import LEDGER as LEDGER_SQL

# `actions` keeps a browser copy of an order even after the server's copy arrives (DuckDB's
# events table drops it then; ClickHouse's keeps it too, rather than delete rows as it loads):
# leave out the browser copies of orders whose server copy is stored.
# (`coalesce`: ClickHouse evaluates the IN for rows without an order id too, and refuses a NULL
# against the set's non-null order ids.)
SUPERSEDED = (
    "NOT (e.origin = 'browser' AND e.order_id IS NOT NULL AND (e.name, coalesce(e.order_id, ''))"
    " IN (SELECT (o.name, o.order_id) FROM orders o WHERE o.site_id = {site}"
    " AND o.origin = 'server'))"
)


def superseded(dialect: str, table: str, site_id: str) -> list[str]:
    """The condition that leaves superseded browser copies of orders out of `table`, if any."""
    if table == "actions" or (table == "events" and dialect == "clickhouse"):
        return [SUPERSEDED.replace("{site}", site_id)]
    return []


# The fields an engagement report shares with the pageview of its page.
_OWN_PAGE = frozenset({"event:page", "event:hostname"})
# Dimensions grouped by a number the narrow table keeps beside the text.
KEYED = {("pageviews", "event:page"): ("page_key", keys.page_key)}


def _partial(st: Statement, partial: Partial, site: SiteContext) -> int:
    value = st.sql(partial.value)
    where = st.sql(partial.where) if partial.where is not None else "TRUE"
    key = (partial.kind, value, where)
    if key not in st.partials:
        index = len(st.partials)
        st.partials[key] = index
        if "{currency}" in where:
            where = where.replace("{currency}", st.params.add(site.currency))
        inputs = st.per_visitor if st.plan.base == PAGE_VISITORS else st.columns
        inputs.append(f"{value} AS x{index}")
        inputs.append(f"{where} AS w{index}")
    return st.partials[key]


def _relation(st: Statement, site_id: str, start: str, end: str, live: str) -> tuple[str, str]:
    """The base rows: FROM text and the time column; adds CTEs and WHERE conditions."""
    if st.wants_map:
        st.ctes.append(f"m AS ({persons.IDENTITY_MAP[st.dialect].replace('{site}', site_id)})")
    if st.plan.base == VISITS:
        st.where += [f"v.site_id = {site_id}", f"v.started_at >= {start}", f"v.started_at < {end}"]
        st.where.append(live)
        return "visits v", "v.started_at"
    if st.plan.base == LEDGER:
        st.ctes.append(f"ledger AS ({LEDGER_SQL[st.dialect].replace('{site}', site_id)})")
    table = "ledger" if st.plan.base == LEDGER else st.plan.table
    narrow_pages = st.plan.base == PAGE_VISITORS and table == "pageviews"
    if narrow_pages:
        period = f"site_id = {site_id} AND time >= {start} AND time < {end}"
        table = registry.NARROW_PAGE_SOURCE[st.dialect].replace("{where}", period)
    source = f"{table} e" + (f" {persons.JOINS[st.dialect]['event']}" if st.wants_map else "")
    if st.plan.base == PAGE_VISITORS:
        if not narrow_pages:
            st.where.append(registry.PAGE_ROWS_WHERE)
    else:
        st.where += superseded(st.dialect, table, site_id)
    if any(d.dimension.level == "visit" for d in st.plan.dimensions):
        source += (
            f" LEFT JOIN (SELECT v.* FROM visits v WHERE v.site_id = {site_id} AND {live}) lv"
            " ON lv.visit_id = e.visit_id"
        )
    st.where += [f"e.site_id = {site_id}", f"e.time >= {start}", f"e.time < {end}"]
    return source, "e.time"


def _filters(st: Statement, site_id: str, start: str, live: str) -> None:
    """Event and visit filters, directly or through the visit (or the visit's events)."""
    p, base = st.params, st.plan.base
    joined = base != VISITS and any(d.dimension.level == "visit" for d in st.plan.dimensions)
    event_semi: list[str] = []
    visit_semi: list[Filter] = []
    if st.plan.pageviews_only and st.plan.table != "pageviews":
        (event_semi if base == VISITS else st.where).append(st.sql(registry.IS_PAGEVIEW))
    for f in st.plan.filters:
        level = f.target.dimension.level
        if level == "event":
            keyed = page_key_condition(f, p) if st.plan.table == "pageviews" else None
            test = keyed or event_condition(f, st.dialect, p)
            if base == PAGE_VISITORS and f.target.name not in _OWN_PAGE:
                # An engagement report has only its page's fields: the filter picks pageviews.
                test = f"(e.type <> 'pageview' OR {test})"
            (event_semi if base == VISITS else st.where).append(test)
        elif level == "visit" and (base == VISITS or joined):
            column = f"{st.visit_alias}.{f.target.dimension.sql}"
            st.where.append(condition(column, f, p, st.dialect))
        elif level == "visit":
            visit_semi.append(f)
    if event_semi:
        table = "pageviews" if st.plan.table == "pageviews" else "events"
        st.where.append(
            f"v.visit_id IN (SELECT e.visit_id FROM {table} e WHERE e.site_id = {site_id}"
            f" AND e.time >= {start} AND {' AND '.join(event_semi)})"
        )
    if visit_semi:
        st.where.append(through_visit(visit_semi, st.dialect, p, site_id, live))


def _dimensions(st: Statement, time_column: str) -> Grouping:
    """Adds each dimension's value to `src`; returns how the `grouped` stage groups them."""
    grouping = Grouping()
    for index, ref in enumerate(st.plan.dimensions):
        level = ref.dimension.level
        if level in ("first_touch", "last_touch"):
            expression = touch_expression(ref)
            grouping.select.append(f"{expression} AS d{index}")
            grouping.by.append(f"d{index}")
            grouping.only.append((expression, None))
            continue
        keyed = KEYED.get((st.plan.table, ref.name)) if st.plan.base == EVENTS else None
        if level == "event":
            value = event_expression(ref, st.dialect, st.params)
        elif level == "visit":
            value = f"{st.visit_alias}.{ref.dimension.sql}"
        else:
            unit = ref.dimension.sql
            assert isinstance(unit, str)
            value = time_expression(unit, time_column, st.site.timezone, st)
        st.columns.append(f"{value} AS d{index}")
        if keyed is None:
            grouping.select.append(f"src.d{index} AS d{index}")
            grouping.by.append(f"d{index}")
            grouping.only.append((f"src.d{index}", None))
        else:
            column, key_of = keyed
            st.columns.append(f"e.{column} AS k{index}")
            grouping.select.append(f"any_value(src.d{index}) AS d{index}")
            grouping.by.append(f"src.k{index}")
            grouping.only.append((f"src.k{index}", key_of))
    return grouping


def build(plan: Plan, period: Period, site: SiteContext, dialect: str) -> tuple[str, list[Any]]:
    """The statement for `plan` and its parameter values; result columns are the dimensions
    (in order) then the metrics (in order)."""
    st = Statement(plan, dialect, site)
    p = st.params
    site_id, start, end = p.add(site.site_id), p.add(period.start), p.add(period.end)
    live = persons.LIVE[dialect].replace("{site}", site_id)
    source, time_column = _relation(st, site_id, start, end, live)
    _filters(st, site_id, start, live)
    if plan.among_visitors:
        among_visitors(st, site_id, start, end, live)
    if st.wants_persons:
        st.columns.append(f"{st.sql(registry.PERSON[plan.base])} AS person")
    st.columns.append(f"{time_column} AS t")
    grouping = _dimensions(st, time_column)
    if plan.base == PAGE_VISITORS:
        # From the narrow copies a page is its number (`page_key`), as `pageviews` groups it.
        narrow = plan.table == "pageviews"
        page = registry.NARROW_PAGE_ROWS if narrow else registry.PAGE_ROWS[dialect]
        st.columns += [f"{expression} AS {name}" for name, expression in page.items()]
        st.columns.append(f"e.{'page_key' if narrow else 'page'} AS page")
    finals: list[str] = []
    for metric in plan.metrics:
        recipe = metric.recipes[plan.base]
        final = st.sql(recipe.final)
        for name, partial in recipe.partials.items():
            final = final.replace("{" + name + "}", f"sum(a{_partial(st, partial, site)})")
        finals.append(final)
    rows = f"SELECT {', '.join(st.columns)} FROM {source} WHERE {' AND '.join(st.where)}"
    if plan.base == PAGE_VISITORS:
        st.ctes.append(f"page_rows AS ({rows})")
        st.ctes.append(_per_visitor(st))
    else:
        st.ctes.append(f"src AS ({rows})")
    grouped_from, conditions = touched_source(st, site_id, live)
    if plan.among_visitors and st.touches:
        among = among_touched_visitors(
            st, grouping, site_id=site_id, start=start, end=end, live=live
        )
        conditions.append(among)
    if plan.only is not None:
        conditions.append(_only(plan.only, grouping.only, p))
    grouped_where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    bits = 1 << plan.bitmap_bits
    aggregates = []
    for (kind, _, _), index in st.partials.items():
        approximate = kind == "distinct" and plan.approximate
        template = registry.AGGREGATES[dialect]["approx_distinct" if approximate else kind]
        aggregate = template.format(
            value=f"x{index}", where=f"w{index}", m=f"{bits}.0", mask=bits - 1
        )
        aggregates.append(f"{aggregate} AS a{index}")
    dims = [f"d{i}" for i in range(len(plan.dimensions))]
    group_by = f" GROUP BY {', '.join(grouping.by)}" if dims else ""
    st.ctes.append(
        f"grouped AS (SELECT {', '.join([*grouping.select, *aggregates])}"
        f" FROM {grouped_from}{grouped_where}{group_by})"
    )
    select = ", ".join([*dims, *(f"{final} AS m{i}" for i, final in enumerate(finals))])
    sql = f"WITH {', '.join(st.ctes)} SELECT {select} FROM grouped"
    if dims:
        sql += f" GROUP BY {', '.join(dims)}{_order(plan, dims)}"
    return p.render(sql + registry.STATEMENT_SUFFIX[dialect])


def _per_visitor(st: Statement) -> str:
    """`src` of `page_visitors`: per visitor, page and group, the partials' inputs over their
    rows of `page_rows`, where they viewed the page (a report alone, of a page viewed before
    the period, is left out)."""
    groups = [f"e.d{i}" for i in range(len(st.plan.dimensions))]
    select = [f"e.d{i} AS d{i}" for i in range(len(st.plan.dimensions))]
    select += ["e.person AS person", "min(e.t) AS t", *st.per_visitor]
    return (
        f"src AS (SELECT {', '.join(select)} FROM page_rows e"
        f" GROUP BY {', '.join([*groups, 'e.person', 'e.page'])} HAVING max(e.viewed) = 1)"
    )


def _only(
    groups: tuple[tuple[Any, ...], ...], expressions: list[tuple[str, Any]], p: Params
) -> str:
    """Rows of the listed groups only (a missing value matches a missing value)."""

    def test(expression: str, key_of: Any, value: Any) -> str:
        if key_of is not None:
            return f"{expression} = {p.add(key_of(value or ''))}"
        return f"{expression} IS NULL" if value is None else f"{expression} = {p.add(value)}"

    if len(expressions) == 1:
        expression, key_of = expressions[0]
        values = [g[0] if key_of is None else key_of(g[0] or "") for g in groups]
        present = [v for v in values if v is not None]
        tests = [f"{expression} IN ({', '.join(p.add(v) for v in present)})"] if present else []
        if len(present) != len(values):
            tests.append(f"{expression} IS NULL")
        return "(" + (" OR ".join(tests) or "FALSE") + ")"
    alternatives = [
        "(" + " AND ".join(test(e, k, v) for (e, k), v in zip(expressions, g, strict=True)) + ")"
        for g in groups
    ]
    return "(" + (" OR ".join(alternatives) or "FALSE") + ")"


def _order(plan: Plan, dims: list[str]) -> str:
    if plan.limit is None:
        return ""
    names = {ref.name: f"d{i}" for i, ref in enumerate(plan.dimensions)}
    names.update({m.name: f"m{i}" for i, m in enumerate(plan.metrics)})
    keys = [f"{names[name]} {'DESC' if desc else 'ASC'} NULLS LAST" for name, desc in plan.order_by]
    keys += [f"{d} ASC NULLS FIRST" for d in dims]
    return f" ORDER BY {', '.join(keys)} LIMIT {int(plan.limit)}"


__all__ = ["EVENTS", "LEDGER", "VISITS", "Params", "Plan", "SiteContext", "build"]
