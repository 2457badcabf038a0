"""A statement being written for one plan: the plan, the site it reads, and what the stages
have gathered so far (parameters, select lists, partial aggregates, CTEs, conditions), with the
small expressions every stage uses. `builder.py` writes the stages; `touches.py` and
`rate_visitors.py` add theirs to the same statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clycyo.query import registry
from clycyo.query.conditions import Params
from clycyo.query.registry import VISITS, Metric
from clycyo.query.spec import NONE, DimensionRef, Filter


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
class Statement:
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


def time_expression(unit: str, time_column: str, timezone: str, st: Statement) -> str:
    if timezone == "UTC":
        return registry.UTC_TIME_BUCKETS[st.dialect][unit].replace("{t}", time_column)
    template = registry.TIME_BUCKETS[st.dialect][unit]
    return template.replace("{t}", time_column).replace("{tz}", st.params.add(timezone))


def missing(st: Statement, value: str) -> str:
    """A value whose absence matches an absence: `IN` never matches a NULL."""
    return f"coalesce({value}, {st.params.add(NONE)})"


@dataclass
class Grouping:
    select: list[str] = field(default_factory=list)  # the grouped stage's dimension columns
    by: list[str] = field(default_factory=list)  # its GROUP BY
    only: list[tuple[str, Any]] = field(default_factory=list)  # expression, value → its key
