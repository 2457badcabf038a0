"""First and last touch: each person's first visit, and their last non-direct visit before a
row's time (a direct first visit failing that), joined to the persons of `src` only, between
`src` and the grouped stage."""

from __future__ import annotations

from clycyo.query.conditions import condition
from clycyo.query.spec import DimensionRef
from clycyo.query.statement import Statement

TOUCH_COLUMNS: tuple[str, ...] = ("source", "channel", "referrer_host", "utm_source")
TOUCH_COLUMNS += ("utm_medium", "utm_campaign", "utm_term", "utm_content")


def touch_expression(ref: DimensionRef, at: str = "src.t") -> str:
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


def touched_source(st: Statement, site_id: str, live: str) -> tuple[str, list[str]]:
    """`src` with first and last touch joined when asked for, and the conditions on them."""
    if not st.touches:
        return "src", []
    st.ctes.extend(touch_ctes(st.dialect, site_id, live))
    text = "src LEFT JOIN ft ON ft.person = src.person"
    if any(r.dimension.level == "last_touch" for r in st.touches):
        text += " ASOF LEFT JOIN lt ON lt.person = src.person AND src.t >= lt.started_at"
    touch_filters = [
        f for f in st.plan.filters if f.target.dimension.level in ("first_touch", "last_touch")
    ]
    return text, [
        condition(touch_expression(f.target), f, st.params, st.dialect) for f in touch_filters
    ]


def touch_ctes(dialect: str, site_id: str, live: str) -> list[str]:
    columns = ", ".join(f"v.{c}" for c in TOUCH_COLUMNS)
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
