"""Approximate distinct counts for large periods: bitmap sizes, and the groups worth counting.

Linear counting sets one bit per person (a hash of their key) in a bitmap per group and infers
the count from the bits still clear; with at least 2**18 bits, and as many as members, its
error is about 0.1 %, and it has no bias for small groups. Bitmaps cost memory per group, so a
first,
cheap pass counts the rows of each group (rows bound distinct counts from above: a group cannot
have more persons or visits than rows). It sizes the bitmaps to the largest group, and when the
query wants the top N by `visitors` or `visits`, keeps only the groups that can be in it: after
counting the candidates, any group left out has fewer rows than the N-th count found, so it
cannot place (`complete` checks this; otherwise every group is counted). With too many groups
for bitmaps, the statement counts exactly instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from clycyo.query.builder import Plan, SiteContext, build
from clycyo.query.dates import Period
from clycyo.query.planner import Part
from clycyo.query.registry import EVENTS, LEDGER, VISITS, Metric, Partial, Recipe, both
from clycyo.query.spec import Query
from clycyo.store.base import EventStore

APPROXIMATE_ABOVE_VISITS = 100_000
MAX_BITMAP_BYTES = 96 * 1024 * 1024  # per statement
# The estimate's relative error is about 1 / sqrt(2 * bits) for groups much smaller than the
# bitmap (0.17 % at 2**18) and stays near 0.1 % up to as many members as bits.
MIN_BITS, MAX_BITS = 18, 23
ROWS = Metric(
    "rows",
    "Rows of the base relation (an upper bound of distinct counts).",
    "count",
    {b: Recipe({"rows": Partial("count")}, both("{rows}")) for b in (VISITS, EVENTS, LEDGER)},
)
PRUNABLE = ("visitors", "visits")
# Dimensions with a few (at most a few hundred) values: their bitmaps fit in memory without a
# counting pass; bitmaps are then sized by the period's visits.
FEW_VALUES = frozenset(
    {
        "visit:device",
        "visit:browser",
        "visit:os",
        "visit:channel",
        "visit:country",
        "first_touch:channel",
        "last_touch:channel",
        "event:origin",
    }
)
Key = tuple[Any, ...]


@dataclass
class Sized:
    part: Part
    excluded_max_rows: int  # the largest row count among groups left out (0: none left out)


def visits_in(store: EventStore, site_id: int, period: Period) -> int:
    rows = store.execute(
        "SELECT count(*) FROM visits WHERE site_id = ? AND started_at >= ? AND started_at < ?",
        [site_id, period.start, period.end],
    )
    return int(rows[0][0])


def _bits(largest_rows: int) -> int:
    """Bits for groups of up to `largest_rows` members: up to three members per bit keeps the
    error under 0.25 %."""
    return min(MAX_BITS, max(MIN_BITS, math.ceil(math.log2(max(2, largest_rows / 3)))))


def _candidates(query: Query, counts: dict[Key, int], width: int) -> dict[Key, int]:
    """The groups that could make the top list, by their row counts."""
    name, descending = query.order_by[0]
    if name not in PRUNABLE or not descending or len(counts) <= width:
        return counts
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    return dict(ranked[:width])


def size(
    store: EventStore,
    query: Query,
    period: Period,
    ctx: SiteContext,
    part: Part,
    *,
    prune: bool,
    visits: int,
) -> Sized:
    """The part ready to run approximately: bitmaps sized, groups narrowed (when `prune`), or
    counted exactly when there are too many groups for bitmaps."""
    if not any(
        partial.kind == "distinct"
        for metric in part.plan.metrics
        for partial in metric.recipes[part.plan.base].partials.values()
    ):
        return Sized(part, 0)  # nothing to estimate: sums and counts are exact anyway
    few = all(d.dimension.level == "time" or d.name in FEW_VALUES for d in part.plan.dimensions)
    if few:
        return Sized(_with(part, replace(part.plan, bitmap_bits=_bits(visits))), 0)
    counts = {
        tuple(row[:-1]): int(row[-1])
        for row in store.execute(*_count(part.plan, period, ctx, store.dialect))
    }
    chosen = _candidates(query, counts, query.limit * 2 + 10) if prune else counts
    largest = max(chosen.values(), default=0)
    bits = _bits(largest)
    if len(chosen) * (1 << bits) // 8 > MAX_BITMAP_BYTES:
        return Sized(_with(part, replace(part.plan, approximate=False)), 0)
    excluded = max((n for k, n in counts.items() if k not in chosen), default=0)
    only = tuple(chosen) if excluded else None
    plan = replace(part.plan, bitmap_bits=bits, only=only, order_by=(), limit=None)
    return Sized(_with(part, plan), excluded)


def _with(part: Part, plan: Plan) -> Part:
    return Part(plan, part.metric_names, part.dimension_positions)


def _count(plan: Plan, period: Period, ctx: SiteContext, dialect: str) -> tuple[str, list[Any]]:
    # Without the conversion rate's "among the visitors" test, whose semi-join on the period's
    # visits costs more than the count: the rows counted without it bound those with it, and an
    # upper bound is all that sizing a bitmap, ranking candidates and checking the top list need.
    counting = replace(
        plan,
        metrics=(ROWS,),
        approximate=False,
        order_by=(),
        limit=None,
        only=None,
        among_visitors=False,
    )
    return build(counting, period, ctx, dialect)


def complete(query: Query, sized: list[Sized], rows: list[tuple[Key, list[Any]]]) -> bool:
    """Whether the top list from narrowed groups is certainly the true one."""
    excluded = max((s.excluded_max_rows for s in sized), default=0)
    if not excluded:
        return True
    index = next(i for i, m in enumerate(query.metrics) if m.name == query.order_by[0][0])
    values = sorted((values[index] for _, values in rows), reverse=True)
    if len(values) < query.limit:
        return False
    return bool(excluded < values[query.limit - 1])
