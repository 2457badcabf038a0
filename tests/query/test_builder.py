"""The SQL builder: values travel as parameters only; every metric and dimension runs."""

from __future__ import annotations

import pytest

from clycyo.query import builder, planner, registry, spec
from clycyo.query.builder import SiteContext
from tests.small_world import SmallWorld

HOSTILE = "x'); DROP TABLE events; --"


def _statements(body: dict[str, object], dialect: str) -> list[tuple[str, list[object]]]:
    query = spec.check(spec.decode({"site": "shop.test", **body}))
    return [
        builder.build(part.plan, query.period, SiteContext(1, "USD", "Europe/Paris"), dialect)
        for part in planner.plan(query, approximate=True)
    ]


@pytest.mark.parametrize("dialect", registry.DIALECTS)
def test_user_input_reaches_sql_only_as_parameters(dialect: str) -> None:
    body = {
        "metrics": ["visitors", "revenue", "conversion_rate"],
        "dimensions": [f"event:props:{HOSTILE}", "time:day"],
        "filters": [
            ["is", "event:page", [HOSTILE]],
            ["contains", "visit:source", [HOSTILE]],
            ["matches", "first_touch:channel", [HOSTILE.replace("(", "").replace(")", "")]],
        ],
    }
    for sql, params in _statements(body, dialect):
        assert "DROP" not in sql and "Paris" not in sql
        assert HOSTILE in params and "Europe/Paris" in params
        assert sql.count("?") == len(params)


def test_hostile_values_are_just_values(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/"), world.browser("v1", 61, "signup", props={HOSTILE: HOSTILE})
    )
    rows = world.breakdown(
        f"event:props:{HOSTILE}", "events", filters=[["is", "event:name", ["signup"]]]
    )
    assert rows == {HOSTILE: [1]}
    assert world.totals("visitors", filters=[["is", "event:page", [HOSTILE]]]) == [0]
    assert world.totals("events") == [2]


def test_every_metric_by_every_dimension_runs(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/", referrer="https://www.google.com/"),
        world.identify("v1", "u1", 61),
        world.payment(62, "10.00", "o1", user_id="u1"),
    )
    visit_only = {"bounce_rate", "visit_duration", "views_per_visit"}
    # A page's own (test_page_engagement.py refuses the other dimensions).
    page_own = {"time_on_page", "scroll_depth"}
    for dimension, found in registry.DIMENSIONS.items():
        if not found.groupable:  # a filter only
            continue
        name = dimension + ("plan" if dimension.endswith(":") else "")
        pages = name in ("event:page", "event:hostname") or found.level == "time"
        metrics = [
            m
            for m in registry.METRICS
            if not (m in visit_only and name.startswith("event:")) and (pages or m not in page_own)
        ]
        answer = world.query(metrics=metrics, dimensions=[name])
        assert answer["results"], name
        assert all(len(row["metrics"]) == len(metrics) for row in answer["results"])
