"""The one registry of metrics and dimensions, with each SQL dialect's expression.

A metric is computed from a base relation — `visits` (live visit states), `events`, `ledger`
(money events, one row per order) or `page_visitors` (one row per visitor of a page: their
pageviews and engagement reports of it, `PAGE_ROWS`) — as partial aggregates (count, sum,
distinct) that the builder takes per group, and a final expression over those partials. A
dimension is an expression on a base relation's rows. Expressions exist per dialect ("duckdb",
"clickhouse"); identifiers in SQL come only from here, values only as parameters. Row aliases:
`v` a live visit, `e` an event (or ledger row), `lv` an event's visit, `ft`/`lt` the person's
first/last touch. `docs/metrics-and-dimensions.md` is generated from this module (a test keeps
the page in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from clycyo.query import dialect as dialects

VISITS, EVENTS, LEDGER = "visits", "events", "ledger"
PAGE_VISITORS = "page_visitors"
DIALECTS = ("duckdb", "clickhouse")
Kind = Literal["count", "sum", "distinct"]
Sql = dict[str, str]  # dialect → expression


def both(expression: str) -> Sql:
    """An expression both dialects spell the same way."""
    return {"duckdb": expression, "clickhouse": expression}


@dataclass(frozen=True)
class Partial:
    """One aggregate of a metric: what is counted, summed or distinct-counted, over which rows."""

    kind: Kind
    value: Sql = field(default_factory=lambda: both("1"))
    where: Sql | None = None


@dataclass(frozen=True)
class Recipe:
    """How a metric is made on one base: partials by name, and the final expression over them."""

    partials: dict[str, Partial]
    final: Sql  # `{name}` stands for the total of partial `name`


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: Literal["count", "percent", "seconds", "money", "number"]
    recipes: dict[str, Recipe]  # base → recipe
    persons: bool = False  # counts persons (needs the identity map)
    # A quotient: null, not 0, where there is nothing to divide (no visits, no visitors).
    ratio: bool = False


@dataclass(frozen=True)
class Dimension:
    name: str
    description: str
    level: Literal["event", "visit", "time", "first_touch", "last_touch"]
    # For "event": the expression on `e` per dialect; for "visit", "first_touch" and
    # "last_touch": the column of the visit; for "time": the bucket's unit.
    sql: Sql | str
    parameter: bool = False  # `event:props:KEY`: the key is a parameter
    groupable: bool = True  # False: a filter only, no breakdown

    @property
    def filterable(self) -> bool:
        return self.level != "time"


# Aggregates per dialect: {value}, {where}. Distinct counts come exact or approximate.
AGGREGATES: dict[str, dict[str, str]] = {
    "duckdb": {
        "count": "count(*) FILTER (WHERE {where})",
        "sum": "sum({value}) FILTER (WHERE {where})",
        "distinct": "count(DISTINCT {value}) FILTER (WHERE {where})",
        # Linear counting: a bitmap of {m} bits per group; the estimate's error is ~0.1 % while
        # the group has fewer than a few times {m} members (see docs/decisions/0011).
        "approx_distinct": "round(-{m} * ln(greatest(1.0 - coalesce(bit_count(bitstring_agg("
        "(hash({value}) & {mask})::UINTEGER, 0, {mask}) FILTER (WHERE {where})), 0) / {m},"
        " 1.0 / {m})))",
    },
    "clickhouse": {
        "count": "countIf({where})",
        "sum": "sumIf({value}, {where})",
        "distinct": "uniqExactIf({value}, {where})",
        "approx_distinct": "uniqCombined64If({value}, {where})",
    },
}
# A person: the 40 bits of their user key (identified) or visitor key (see identity/keys.py).
PERSON = {
    VISITS: both("v.person_bits"),  # kept current by the writer (identity/deriver.py)
    EVENTS: {
        "duckdb": "coalesce(m.user_bits, e.visit_id >> 24)",
        "clickhouse": "coalesce(m.user_bits, bitShiftRight(e.visit_id, 24))",
    },
}
PERSON[LEDGER] = PERSON[PAGE_VISITORS] = PERSON[EVENTS]
# ClickHouse fills a missed outer join with default values (0 for a key) unless told otherwise;
# persons are found with `coalesce` over such joins.
STATEMENT_SUFFIX = {"duckdb": "", "clickhouse": " SETTINGS join_use_nulls = 1"}
REAL_VISIT = {
    "duckdb": "e.visit_id & 16777215 <> 0",
    "clickhouse": "bitAnd(e.visit_id, 16777215) != 0",
}
IS_PAGEVIEW = both("e.type = 'pageview'")
PAYMENT = both("e.revenue_amount > 0")
REFUND = both("e.revenue_amount < 0")
IN_CURRENCY = both("e.revenue_currency = {currency}")

# An engagement report counts for a day at most, as in a visit's engaged time (identity/visit.py).
_MAX_ENGAGED_MS = 24 * 3600 * 1000


def _page_rows(dialect: str) -> dict[str, str]:
    """The columns of a pageview or engagement report that `page_visitors` aggregates per visitor
    and page: a report's props as numbers (NULL for text that is none, by `prop_numbers`' rule,
    as the narrow copy reads them), each read once (the map lookups are most of the statement's
    cost)."""
    d = dialects.of(dialect)
    report = "CASE WHEN e.name = 'engagement' THEN {} END"
    return {
        "viewed": "CASE WHEN e.type = 'pageview' THEN 1 ELSE 0 END",
        "depth": report.format(d.prop_number(d.prop("e.props", "'scroll_depth'"))),
        "engaged_ms": report.format(d.prop_number(d.prop("e.props", "'engaged_ms'"))),
    }


# The rows `page_visitors` reads (alias `e` of the events), and its columns per dialect; its
# partials aggregate one visitor's rows of one page (`max(e.depth)`), in one group of the
# query's dimensions, where that visitor viewed the page.
PAGE_ROWS_WHERE = "(e.type = 'pageview' OR e.name = 'engagement')"
PAGE_ROWS = {dialect: _page_rows(dialect) for dialect in DIALECTS}
# The same columns of the narrow copies' rows (`pageviews` beside `engagements`, whose props are
# numbers already, NULL where they are no report: identity/narrow.py).
NARROW_PAGE_ROWS = {
    "viewed": "CASE WHEN e.type = 'pageview' THEN 1 ELSE 0 END",
    "depth": "CASE WHEN e.name = 'engagement' THEN e.scroll_depth END",
    "engaged_ms": "CASE WHEN e.name = 'engagement' THEN e.engaged_ms END",
}
_NO_NUMBER = {"duckdb": "CAST(NULL AS DOUBLE)", "clickhouse": "CAST(NULL AS Nullable(Float64))"}
_NARROW_COLUMNS = "site_id, time, visit_id, page_key, page, hostname, type, name, origin"
# `pageviews` and `engagements` as one relation of the columns both have; `{where}` is the site
# and period, in each (a condition on the union is not always pushed into both).
NARROW_PAGE_SOURCE = {
    dialect: f"(SELECT {_NARROW_COLUMNS}, {none} AS scroll_depth, {none} AS engaged_ms"
    " FROM pageviews WHERE {where} UNION ALL"
    f" SELECT {_NARROW_COLUMNS}, scroll_depth, engaged_ms FROM engagements WHERE {{where}})"
    for dialect, none in _NO_NUMBER.items()
}
# Out of range is no report: a scroll depth outside 0 to 100, a negative, infinite or NaN time
# (1e308: NaN compares above every number in DuckDB and with none in ClickHouse); a time over a
# day counts as a day.
_DEPTH = "max(CASE WHEN e.depth BETWEEN 0 AND 100 THEN e.depth END)"
_ENGAGED_MS = (
    "sum(CASE WHEN e.engaged_ms BETWEEN 0 AND 1e308"
    f" THEN least(e.engaged_ms, {_MAX_ENGAGED_MS}.0) END)"
)

_PERSONS = {base: Partial("distinct", PERSON[base]) for base in (VISITS, EVENTS)}
_VISITS_ROWS = Recipe({"visits": Partial("count")}, both("{visits}"))


def _ratio(numerator: str, denominator: str, scale: str = "1.0", digits: int = 2) -> Sql:
    return both(f"round({scale} * {{{numerator}}} / nullif({{{denominator}}}, 0), {digits})")


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "visitors",
            "Distinct persons: a user id with all its devices, or a lone visitor id.",
            "count",
            {base: Recipe({"persons": _PERSONS[base]}, both("{persons}")) for base in _PERSONS},
            persons=True,
        ),
        Metric(
            "visits",
            "Visits (sessions): a device's events with no 30-minute gap.",
            "count",
            {
                VISITS: _VISITS_ROWS,
                EVENTS: Recipe(
                    {"visit_ids": Partial("distinct", both("e.visit_id"), REAL_VISIT)},
                    both("{visit_ids}"),
                ),
            },
        ),
        Metric(
            "pageviews",
            "Pageview events.",
            "count",
            {
                VISITS: Recipe(
                    {"pageviews": Partial("sum", both("v.pageviews"))}, both("{pageviews}")
                ),
                EVENTS: Recipe(
                    {"pageviews": Partial("count", where=IS_PAGEVIEW)}, both("{pageviews}")
                ),
            },
        ),
        Metric(
            "events",
            "Events of every kind and origin (pageviews, custom, identify, server events).",
            "count",
            {EVENTS: Recipe({"events": Partial("count")}, both("{events}"))},
        ),
        Metric(
            "bounce_rate",
            "Percent of visits with at most one pageview and no interaction.",
            "percent",
            {
                VISITS: Recipe(
                    {"bounces": Partial("sum", both("v.is_bounce")), "visits": Partial("count")},
                    _ratio("bounces", "visits", "100.0", 1),
                )
            },
            ratio=True,
        ),
        Metric(
            "visit_duration",
            "Average visit duration in seconds (first to last browser event).",
            "seconds",
            {
                VISITS: Recipe(
                    {"seconds": Partial("sum", both("v.duration_s")), "visits": Partial("count")},
                    _ratio("seconds", "visits", "1.0", 0),
                )
            },
            ratio=True,
        ),
        Metric(
            "views_per_visit",
            "Average pageviews per visit.",
            "number",
            {
                VISITS: Recipe(
                    {"pageviews": Partial("sum", both("v.pageviews")), "visits": Partial("count")},
                    _ratio("pageviews", "visits"),
                )
            },
            ratio=True,
        ),
        Metric(
            "time_on_page",
            "Average engaged time on the page in seconds: the time its engagement reports add up"
            " to (time in front, in focus), divided by the visitors who viewed it, those with no"
            " report counting as none. Per visitor, not per pageview: a page read twice by one"
            " visitor is one reader's time, as Plausible counts it. Null where no viewer"
            " reported. With `event:page` or `event:hostname` breakdowns, `time:*` or none (the"
            " average over each visitor's pages); event filters choose the pageviews (their"
            " pages' reports count), visit filters the visits.",
            "seconds",
            {
                PAGE_VISITORS: Recipe(
                    {
                        "engaged_ms": Partial("sum", both(_ENGAGED_MS)),
                        "viewers": Partial("count"),
                    },
                    # floor(x + 0.5): ClickHouse's round takes a tie to the even number.
                    both("floor({engaged_ms} / 1000.0 / nullif({viewers}, 0) + 0.5)"),
                )
            },
            persons=True,
            ratio=True,
        ),
        Metric(
            "scroll_depth",
            "Average scroll depth of the page in percent (0 to 100): per visitor who viewed it,"
            " the deepest point they reported on it; visitors with no engagement report are"
            " left out. Null where none reported. Valid as `time_on_page` is.",
            "percent",
            {
                PAGE_VISITORS: Recipe(
                    {
                        "depth": Partial("sum", both(_DEPTH)),
                        "reporting": Partial("count", where=both(f"{_DEPTH} IS NOT NULL")),
                    },
                    both("floor({depth} / nullif({reporting}, 0) + 0.5)"),
                )
            },
            persons=True,
            ratio=True,
        ),
        Metric(
            "conversions",
            "Distinct persons with an event matching the query's event filters; without event"
            " filters, persons who paid.",
            "count",
            {
                EVENTS: Recipe({"persons": _PERSONS[EVENTS]}, both("{persons}")),
                LEDGER: Recipe(
                    {"payers": Partial("distinct", PERSON[LEDGER], PAYMENT)}, both("{payers}")
                ),
            },
            persons=True,
        ),
        Metric(
            "conversion_rate",
            "Percent of visitors (counted without the event filters) who converted: conversions"
            " among those visitors, divided by them. In a row of a breakdown (by a visit's"
            " column, time, first or last touch), a converter counts only if one of their"
            " visits in the period is in that row and passes the query's filters. A page"
            " filter beside an `event:name` or `event:goal` filter or dimension keeps the"
            " visitors who viewed that page.",
            "percent",
            {},
            persons=True,
            ratio=True,
        ),
        Metric(
            "revenue",
            "Net revenue in the site's currency: payments minus refunds, one row per order.",
            "money",
            {
                LEDGER: Recipe(
                    {"revenue": Partial("sum", both("e.revenue_amount"), IN_CURRENCY)},
                    both("{revenue}"),
                )
            },
        ),
        Metric(
            "orders",
            "Distinct payments: orders with a positive amount, however often they arrived.",
            "count",
            {LEDGER: Recipe({"orders": Partial("count", where=PAYMENT)}, both("{orders}"))},
        ),
        Metric(
            "refunds",
            "Refunds: money events with a negative amount (a partial refund counts once).",
            "count",
            {LEDGER: Recipe({"refunds": Partial("count", where=REFUND)}, both("{refunds}"))},
        ),
        Metric(
            "average_order_value",
            "Revenue of payments in the site's currency divided by their number.",
            "money",
            {
                LEDGER: Recipe(
                    {
                        "paid": Partial(
                            "sum",
                            both("e.revenue_amount"),
                            both("e.revenue_amount > 0 AND e.revenue_currency = {currency}"),
                        ),
                        "paid_orders": Partial(
                            "count",
                            where=both("e.revenue_amount > 0 AND e.revenue_currency = {currency}"),
                        ),
                    },
                    both("round({paid} / nullif({paid_orders}, 0), 2)"),
                )
            },
            ratio=True,
        ),
    )
}

_ACQUISITION = {
    "source": ("source", "where the visit came from: a known service, else the referring host"),
    "channel": ("channel", "the channel group (Direct, Organic Search, Paid Social, …)"),
    "referrer": ("referrer_host", "the referring host"),
    "utm_source": ("utm_source", "the utm_source tag"),
    "utm_medium": ("utm_medium", "the utm_medium tag"),
    "utm_campaign": ("utm_campaign", "the utm_campaign tag"),
    "utm_term": ("utm_term", "the utm_term tag"),
    "utm_content": ("utm_content", "the utm_content tag"),
}
_VISIT_ONLY = {
    "entry_page": ("entry_page", "the visit's first page"),
    "exit_page": ("exit_page", "the visit's last page"),
    "click_id": ("click_id", "the ad click id the landing URL carried (gclid, fbclid, …)"),
    "country": ("country", "country (ISO 3166-1 alpha-2)"),
    "region": ("region", "region (ISO 3166-2)"),
    "city": ("city", "city"),
    "browser": ("browser", "browser"),
    "os": ("os", "operating system"),
    "device": ("device", "desktop, mobile or tablet"),
}
_TOUCH: tuple[str, ...] = ("source", "channel", "referrer", "utm_source", "utm_medium")
_TOUCH += ("utm_campaign", "utm_term", "utm_content")


def _dimensions() -> list[Dimension]:
    found = [
        Dimension(
            "event:name", "the event's name (`pageview` for pageviews)", "event", both("e.name")
        ),
        Dimension(
            "event:goal",
            "a goal: a page goal of the site's (`Visit /pricing`, `Visit /blog/**`), which keeps"
            " the pageviews of the pages its pattern matches, or a custom event's name (as"
            " `event:name`); filtered with `is` or `is_not` (an unknown page goal is refused);"
            " broken down, a row per goal: a pageview in the row of every page goal it matches"
            " (none if it matches none), any other event in its name's",
            "event",
            both("e.name"),  # unused: `goals.expression` writes it from the site's page goals
        ),
        Dimension("event:page", "the page path of the event", "event", both("e.page")),
        Dimension("event:hostname", "the host of the event's page", "event", both("e.hostname")),
        Dimension("event:origin", "`browser` or `server`", "event", both("e.origin")),
        Dimension(
            "event:currency", "the currency of a money event", "event", both("e.revenue_currency")
        ),
        Dimension(
            "event:props:",
            "a custom property of the event (`event:props:plan`)",
            "event",
            # ClickHouse's map gives '' for a missing key: NULL, as DuckDB gives, is "(none)".
            {
                "duckdb": "e.props[{key}]",
                "clickhouse": "if(mapContains(e.props, {key}), e.props[{key}], NULL)",
            },
            parameter=True,
        ),
    ]
    for key, (column, text) in {**_VISIT_ONLY, **_ACQUISITION}.items():
        found.append(Dimension(f"visit:{key}", f"{text}, of the visit", "visit", column))
    for key in _TOUCH:
        column, text = _ACQUISITION[key]
        found.append(
            Dimension(
                f"first_touch:{key}", f"{text}, of the person's first visit", "first_touch", column
            )
        )
        found.append(
            Dimension(
                f"last_touch:{key}",
                f"{text}, of the person's last non-direct visit before the event",
                "last_touch",
                column,
            )
        )
    found.append(
        Dimension(
            "time:hour",
            "the hour of the site's time zone, labelled with its local start"
            " (`2026-10-25T06:00:00`): a day the clocks change has 23 or 25 hours, and the two"
            " of a repeated hour carry their UTC offset (`2026-10-25T02:00:00+02:00`); a change"
            " of half an hour cuts an hour in two (`…T01:00:00+11:00`, `…T01:30:00+10:30`)"
            " or leaves its second half (`…T02:30:00`)",
            "time",
            "hour",
        )
    )
    for unit in ("day", "week", "month"):
        found.append(
            Dimension(
                f"time:{unit}", f"the {unit} (site time zone; weeks start Monday)", "time", unit
            )
        )
    return found


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in _dimensions()}
PROPS_PREFIX = "event:props:"

# Time buckets per dialect: {t} a naive UTC timestamp, {tz} the site's time zone (a parameter).
# Days, weeks and months are naive local starts. An hour is the instant (naive UTC) its local
# hour began: the time less its local minutes and seconds. A local start would merge the two
# hours a clock change back repeats (02:00 to 03:00 twice in Berlin in October) into one bucket.
# Where a change of half an hour cuts an hour, the part after it is keyed by when its local hour
# would have begun under its offset, not by when it began: `timeseries.began` finds that.
_LOCAL = "(({t} AT TIME ZONE 'UTC') AT TIME ZONE {tz})"
TIME_BUCKETS: dict[str, dict[str, str]] = {
    "duckdb": {
        "hour": f"{{t}} - ({_LOCAL} - date_trunc('hour', {_LOCAL}))",
        **{unit: f"date_trunc('{unit}', {_LOCAL})" for unit in ("day", "week", "month")},
    },
    # As DateTime64 in the zone: a plain DateTime leaves ClickHouse as a bare number.
    "clickhouse": {
        "hour": "toDateTime64(toDateTime({t}, 'UTC')"
        " - (toMinute({t}, {tz}) * 60 + toSecond({t}, {tz})), 0, 'UTC')",
        "day": "toDateTime64(toStartOfDay({t}, {tz}), 0, {tz})",
        "week": "toDateTime64(toMonday({t}, {tz}), 0, {tz})",
        "month": "toDateTime64(toStartOfMonth({t}, {tz}), 0, {tz})",
    },
}
UTC_TIME_BUCKETS: dict[str, dict[str, str]] = {
    "duckdb": {unit: f"date_trunc('{unit}', {{t}})" for unit in ("hour", "day", "week", "month")},
    "clickhouse": {u: t.replace("{tz}", "'UTC'") for u, t in TIME_BUCKETS["clickhouse"].items()},
}


def dimension(name: str) -> tuple[Dimension, str | None] | None:
    """The dimension a name refers to, with the property key of `event:props:KEY`."""
    if name.startswith(PROPS_PREFIX):
        key = name[len(PROPS_PREFIX) :]
        return (DIMENSIONS[PROPS_PREFIX], key) if key else None
    found = DIMENSIONS.get(name)
    return None if found is None else (found, None)


# Not a public metric: the conversion rate's numerator, `conversions` counted on a plan that
# keeps only persons among the rate's visitors of the row (`Plan.among_visitors`: a visit of
# theirs in the period, in the row's group, under the visit and touch filters), so no row's
# rate can pass 100 %.
CONVERTED_VISITORS = Metric(
    "converted visitors",
    "Conversions of persons among the period's visitors.",
    "count",
    METRICS["conversions"].recipes,
    persons=True,
)

# Not a public metric: money of every currency, for `meta.other_currencies`.
AMOUNT_ANY_CURRENCY = Metric(
    "amount",
    "Net money of the rows, whatever their currency (grouped by currency only).",
    "money",
    {LEDGER: Recipe({"amount": Partial("sum", both("e.revenue_amount"))}, both("{amount}"))},
)
