"""SQL for one plan: a base relation, its metrics, dimensions and filters, in one dialect.

The statement has three stages. `src` selects the base rows (live visits, events or ledger
rows) of the site and period, with their person, time, dimension values and the inputs of every
partial aggregate. `grouped` aggregates them per dimension values; the last stage applies each
metric's final expression. Distinct counts are exact, or with `Plan.approximate` estimated by
linear counting over a bitmap per group (`registry.AGGREGATES`), which the runner uses only for
few groups at a time. First and last touch are joined between `src` and `grouped`, for the
persons in `src` only. The `page_visitors` base has one stage more: `page_rows` selects the
pageviews and engagement reports (from `pageviews` and `engagements` where the query's event
dimensions and filters are fields those have, else from `events`), and `src` holds one row per
visitor, page and group (where that visitor viewed the page) with the partials' inputs
aggregated over their rows.

Identifiers come from the registry; every value (site, period, filter values, property keys,
currency, time zone) is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from clycyo.query.registry import EVENTS, LEDGER, PAGE_VISITORS, VISITS, Metric, Partial
from clycyo.query.spec import NONE, DimensionRef, Filter
from clycyo.revenue.ledger import LEDGER as LEDGER_SQL

_TOUCH_COLUMNS: tuple[str, ...] = ("source", "channel", "referrer_host", "utm_source")
_TOUCH_COLUMNS += ("utm_medium", "utm_campaign", "utm_term", "utm_content")


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


@dataclass(frozen=True)
class SiteContext:
    site_id: int
    currency: str = "USD"
    timezone: str = "UTC"


@dataclass(frozen=True)
class Plan:
    base: str
    metrics: tuple[Metric, ...]
    dimensions: tuple[DimensionRef, ...]
    filters: tuple[Filter, ...]
    approximate: bool = False
    order_by: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    # Only these groups (tuples of dimension values), e.g. the candidates of a top list.
    only: tuple[tuple[Any, ...], ...] | None = None
    bitmap_bits: int = 20  # approximate distinct counts: bitmaps of 2**bitmap_bits bits
    # Which table holds the events of an events-based plan: "events", or a narrow copy of the
    # kinds the query looks at ("pageviews", "actions"; see identity/schema.py). A visits-based
    # plan looks there for the events its event filters match ("events" or "pageviews"). A
    # `page_visitors` plan with "pageviews" reads it beside `engagements`.
    table: str = "events"
    # Only pageviews count (and, for a visits-based plan, match the event filters).
    pageviews_only: bool = False
    # Only persons among the visitors the conversion rate divides by (an events or ledger plan):
    # in each row, those with a visit in the period in the row's group (its visit columns, time
    # bucket, first and last touch) under the visit and touch filters.
    among_visitors: bool = False
    # Those visitors viewed a page these filters match (in a visit of theirs in the period).
    visitor_pages: tuple[Filter, ...] = ()


@dataclass
class _Statement:
    """One statement being written: its parameters, the `src` select list, the partials."""

    plan: Plan
    dialect: str
    site: SiteContext
    params: Params = field(default_factory=Params)
    columns: list[str] = field(default_factory=list)  # src select list
    # `page_visitors`: the select list of `src`, one row per visitor and page (`columns` is then
    # that of `page_rows`).
    per_visitor: list[str] = field(default_factory=list)
    partials: dict[tuple[str, str, str], int] = field(default_factory=dict)
    ctes: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def sql(self, expression: registry.Sql) -> str:
        return expression[self.dialect]

    @property
    def touches(self) -> list[DimensionRef]:
        refs = [*self.plan.dimensions, *(f.target for f in self.plan.filters)]
        return [r for r in refs if r.dimension.level in ("first_touch", "last_touch")]

    @property
    def wants_persons(self) -> bool:
        persons = self.plan.among_visitors or any(m.persons for m in self.plan.metrics)
        return persons or bool(self.touches)

    @property
    def wants_map(self) -> bool:
        """Visits carry their person; events find it through the identity map."""
        return self.wants_persons and self.plan.base != VISITS

    @property
    def visit_alias(self) -> str:
        """Where a visit's columns are: the row itself, or the event's joined visit `lv`."""
        return "v" if self.plan.base == VISITS else "lv"


def _time_expression(unit: str, time_column: str, timezone: str, st: _Statement) -> str:
    if timezone == "UTC":
        return registry.UTC_TIME_BUCKETS[st.dialect][unit].replace("{t}", time_column)
    template = registry.TIME_BUCKETS[st.dialect][unit]
    return template.replace("{t}", time_column).replace("{tz}", st.params.add(timezone))


def _touch_expression(ref: DimensionRef, at: str = "src.t") -> str:
    """The touch of the person at time `at` (joined as `ft` and `lt`)."""
    column = ref.dimension.sql
    assert isinstance(column, str)
    if ref.dimension.level == "first_touch":
        return f"ft.{column}"
    # The last non-direct visit before the event; failing that, a direct first visit before it.
    return (
        f"CASE WHEN lt.person IS NOT NULL THEN lt.{column}"
        f" WHEN ft.started_at <= {at} THEN ft.{column} END"
    )


def _partial(st: _Statement, partial: Partial, site: SiteContext) -> int:
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


def _relation(st: _Statement, site_id: str, start: str, end: str, live: str) -> tuple[str, str]:
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


def _filters(st: _Statement, site_id: str, start: str, live: str) -> None:
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


def _missing(st: _Statement, value: str) -> str:
    """A value whose absence matches an absence: `IN` never matches a NULL."""
    return f"coalesce({value}, {st.params.add(NONE)})"


def _visitor_filters(st: _Statement, site_id: str, start: str, end: str, live: str) -> list[str]:
    """The rate's visitors: live visits starting in the period under the visit filters, with a
    pageview of the pages `Plan.visitor_pages` names."""
    p = st.params
    where = [f"v.site_id = {site_id}", f"v.started_at >= {start}", f"v.started_at < {end}", live]
    where += [
        condition(f"v.{f.target.dimension.sql}", f, p, st.dialect)
        for f in st.plan.filters
        if f.target.dimension.level == "visit"
    ]
    if st.plan.visitor_pages:
        pages = [
            page_key_condition(f, p) or event_condition(f, st.dialect, p)
            for f in st.plan.visitor_pages
        ]
        where.append(
            f"v.visit_id IN (SELECT e.visit_id FROM pageviews e WHERE e.site_id = {site_id}"
            f" AND e.time >= {start} AND {' AND '.join(pages)})"
        )
    return where


def _among_visitors(st: _Statement, site_id: str, start: str, end: str, live: str) -> None:
    """Only persons among the visitors the conversion rate divides by, in the row's group: with
    a live visit in the period under the query's visit filters, and grouped by a visit's
    column or by time, a visit with the row's value, starting in the row's bucket (a payment
    reported without a visit, such as a renewal, is among none of them). With first or last
    touch in the query the test is on the grouped rows instead (`_among_touched_visitors`)."""
    if st.touches:
        return
    tz = st.site.timezone
    mine, theirs = [st.sql(registry.PERSON[st.plan.base])], ["v.person_bits"]
    for ref in st.plan.dimensions:
        if ref.dimension.level == "visit":
            mine.append(_missing(st, f"{st.visit_alias}.{ref.dimension.sql}"))
            theirs.append(_missing(st, f"v.{ref.dimension.sql}"))
        elif ref.dimension.level == "time":
            unit = ref.dimension.sql
            assert isinstance(unit, str)
            mine.append(_time_expression(unit, "e.time", tz, st))
            theirs.append(_time_expression(unit, "v.started_at", tz, st))
    left = mine[0] if len(mine) == 1 else f"({', '.join(mine)})"
    right = theirs[0] if len(theirs) == 1 else f"({', '.join(theirs)})"
    where = _visitor_filters(st, site_id, start, end, live)
    st.where.append(f"{left} IN (SELECT {right} FROM visits v WHERE {' AND '.join(where)})")


def _among_touched_visitors(
    st: _Statement, grouping: _Grouping, *, site_id: str, start: str, end: str, live: str
) -> str:
    """`_among_visitors` for a query with first or last touch: the persons whose visits in the
    period pass the touch filters too (a visit's last touch is the person's last non-direct
    visit before it starts), with the row's value of every dimension a visit has. Joins the
    touches `_grouped_from` made; the condition is on the grouped stage's rows."""
    tz = st.site.timezone
    mine, theirs = ["src.person"], ["v.person_bits"]
    for index, ref in enumerate(st.plan.dimensions):
        level = ref.dimension.level
        if level == "event":
            continue
        value = grouping.only[index][0]
        mine.append(value if level == "time" else _missing(st, value))
        if level == "visit":
            theirs.append(_missing(st, f"v.{ref.dimension.sql}"))
        elif level == "time":
            unit = ref.dimension.sql
            assert isinstance(unit, str)
            theirs.append(_time_expression(unit, "v.started_at", tz, st))
        else:
            theirs.append(_missing(st, _touch_expression(ref, "v.started_at")))
    where = _visitor_filters(st, site_id, start, end, live)
    where += [
        condition(_touch_expression(f.target, "v.started_at"), f, st.params, st.dialect)
        for f in st.plan.filters
        if f.target.dimension.level in ("first_touch", "last_touch")
    ]
    where.append("v.person_bits IN (SELECT person FROM people)")
    source = "visits v LEFT JOIN ft ON ft.person = v.person_bits"
    if any(r.dimension.level == "last_touch" for r in st.touches):
        source += (
            " ASOF LEFT JOIN lt ON lt.person = v.person_bits AND v.started_at >= lt.started_at"
        )
    columns = ", ".join(f"{value} AS c{i}" for i, value in enumerate(theirs))
    st.ctes.append(f"rate_visitors AS (SELECT {columns} FROM {source} WHERE {' AND '.join(where)})")
    left = mine[0] if len(mine) == 1 else f"({', '.join(mine)})"
    right = ", ".join(f"c{i}" for i in range(len(theirs)))
    return f"{left} IN (SELECT {right} FROM rate_visitors)"


@dataclass
class _Grouping:
    select: list[str] = field(default_factory=list)  # the grouped stage's dimension columns
    by: list[str] = field(default_factory=list)  # its GROUP BY
    only: list[tuple[str, Any]] = field(default_factory=list)  # expression, value → its key


def _dimensions(st: _Statement, time_column: str) -> _Grouping:
    """Adds each dimension's value to `src`; returns how the `grouped` stage groups them."""
    grouping = _Grouping()
    for index, ref in enumerate(st.plan.dimensions):
        level = ref.dimension.level
        if level in ("first_touch", "last_touch"):
            expression = _touch_expression(ref)
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
            value = _time_expression(unit, time_column, st.site.timezone, st)
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


def _grouped_from(st: _Statement, site_id: str, live: str) -> tuple[str, list[str]]:
    """`src` with first and last touch joined when asked for, and the conditions on them."""
    if not st.touches:
        return "src", []
    st.ctes.extend(_touch_ctes(st.dialect, site_id, live))
    text = "src LEFT JOIN ft ON ft.person = src.person"
    if any(r.dimension.level == "last_touch" for r in st.touches):
        text += " ASOF LEFT JOIN lt ON lt.person = src.person AND src.t >= lt.started_at"
    touch_filters = [
        f for f in st.plan.filters if f.target.dimension.level in ("first_touch", "last_touch")
    ]
    return text, [
        condition(_touch_expression(f.target), f, st.params, st.dialect) for f in touch_filters
    ]


def build(plan: Plan, period: Period, site: SiteContext, dialect: str) -> tuple[str, list[Any]]:
    """The statement for `plan` and its parameter values; result columns are the dimensions
    (in order) then the metrics (in order)."""
    st = _Statement(plan, dialect, site)
    p = st.params
    site_id, start, end = p.add(site.site_id), p.add(period.start), p.add(period.end)
    live = persons.LIVE[dialect].replace("{site}", site_id)
    source, time_column = _relation(st, site_id, start, end, live)
    _filters(st, site_id, start, live)
    if plan.among_visitors:
        _among_visitors(st, site_id, start, end, live)
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
    grouped_from, conditions = _grouped_from(st, site_id, live)
    if plan.among_visitors and st.touches:
        among = _among_touched_visitors(
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


def _per_visitor(st: _Statement) -> str:
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


def _touch_ctes(dialect: str, site_id: str, live: str) -> list[str]:
    columns = ", ".join(f"v.{c}" for c in _TOUCH_COLUMNS)
    first = (
        "SELECT * FROM pv QUALIFY row_number() OVER (PARTITION BY person"
        " ORDER BY started_at, visit_id) = 1"
        if dialect == "duckdb"
        else "SELECT * FROM pv ORDER BY person, started_at, visit_id LIMIT 1 BY person"
    )
    return [
        "people AS (SELECT DISTINCT person FROM src)",
        f"pv AS (SELECT v.person_bits AS person, v.visit_id, v.started_at, {columns}"
        f" FROM visits v WHERE v.site_id = {site_id} AND {live}"
        " AND v.person_bits IN (SELECT person FROM people))",
        f"ft AS ({first})",
        "lt AS (SELECT * FROM pv WHERE channel <> 'Direct')",
    ]


__all__ = ["EVENTS", "LEDGER", "VISITS", "Params", "Plan", "SiteContext", "build"]
