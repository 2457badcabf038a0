"""The visitors a conversion rate divides by, and the condition that keeps a row's persons to
them (`Plan.among_visitors`): with a live visit in the period under the query's visit (and touch)
filters, in the row's group."""

from __future__ import annotations

from clycyo.query import registry
from clycyo.query.conditions import condition, event_condition, page_key_condition
from clycyo.query.statement import Grouping, Statement, missing, time_expression
from clycyo.query.touches import touch_expression


def visitor_filters(st: Statement, site_id: str, start: str, end: str, live: str) -> list[str]:
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


def among_visitors(st: Statement, site_id: str, start: str, end: str, live: str) -> None:
    """Only persons among the visitors the conversion rate divides by, in the row's group: with
    a live visit in the period under the query's visit filters, and grouped by a visit's
    column or by time, a visit with the row's value, starting in the row's bucket (a payment
    reported without a visit, such as a renewal, is among none of them). With first or last
    touch in the query the test is on the grouped rows instead (`among_touched_visitors`)."""
    if st.touches:
        return
    tz = st.site.timezone
    mine, theirs = [st.sql(registry.PERSON[st.plan.base])], ["v.person_bits"]
    for ref in st.plan.dimensions:
        if ref.dimension.level == "visit":
            mine.append(missing(st, f"{st.visit_alias}.{ref.dimension.sql}"))
            theirs.append(missing(st, f"v.{ref.dimension.sql}"))
        elif ref.dimension.level == "time":
            unit = ref.dimension.sql
            assert isinstance(unit, str)
            mine.append(time_expression(unit, "e.time", tz, st))
            theirs.append(time_expression(unit, "v.started_at", tz, st))
    left = mine[0] if len(mine) == 1 else f"({', '.join(mine)})"
    right = theirs[0] if len(theirs) == 1 else f"({', '.join(theirs)})"
    where = visitor_filters(st, site_id, start, end, live)
    st.where.append(f"{left} IN (SELECT {right} FROM visits v WHERE {' AND '.join(where)})")


def among_touched_visitors(
    st: Statement, grouping: Grouping, *, site_id: str, start: str, end: str, live: str
) -> str:
    """`among_visitors` for a query with first or last touch: the persons whose visits in the
    period pass the touch filters too (a visit's last touch is the person's last non-direct
    visit before it starts), with the row's value of every dimension a visit has. Joins the
    touches `touches.touched_source` made; the condition is on the grouped stage's rows."""
    tz = st.site.timezone
    mine, theirs = ["src.person"], ["v.person_bits"]
    for index, ref in enumerate(st.plan.dimensions):
        level = ref.dimension.level
        if level == "event":
            continue
        value = grouping.only[index][0]
        mine.append(value if level == "time" else missing(st, value))
        if level == "visit":
            theirs.append(missing(st, f"v.{ref.dimension.sql}"))
        elif level == "time":
            unit = ref.dimension.sql
            assert isinstance(unit, str)
            theirs.append(time_expression(unit, "v.started_at", tz, st))
        else:
            theirs.append(missing(st, touch_expression(ref, "v.started_at")))
    where = visitor_filters(st, site_id, start, end, live)
    where += [
        condition(touch_expression(f.target, "v.started_at"), f, st.params, st.dialect)
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
