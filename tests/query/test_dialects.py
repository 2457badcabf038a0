"""The same world through both engines: DuckDB and ClickHouse's engine (chDB) must agree.

The world is built twice on the real write path, once per engine, and each query runs through
the same runner with each dialect's expressions; every answer must be the same. (The other
suites run each test on both engines against fixed expectations; this one compares breakdowns
whose exact values are not written down.)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.engines import ENGINES, storage_url
from tests.small_world import IPHONE, SmallWorld

pytest.importorskip("chdb")

QUERIES: list[dict[str, Any]] = [
    {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:source", "time:hour"]},
    {"metrics": ["revenue", "orders", "refunds", "conversions", "conversion_rate"]},
    {"metrics": ["revenue", "visitors"], "dimensions": ["first_touch:channel"]},
    {"metrics": ["revenue"], "dimensions": ["last_touch:source"]},
    {
        "metrics": ["visitors", "conversions"],
        "filters": [["contains", "event:name", ["SIGN"]], ["is_not", "visit:device", ["mobile"]]],
    },
    {
        "metrics": ["events"],
        "dimensions": ["event:props:plan"],
        "filters": [["matches", "event:name", ["^sub"]]],
    },
]


def _world(world: SmallWorld) -> None:
    world.send(
        world.pageview("a", 60, "/", referrer="https://www.google.com/"),
        world.pageview("a", 62, "/pricing"),
        world.browser("a", 63, "signup", "/pricing"),
        world.identify("a", "ann", 64),
        world.payment(65, "49.00", "o1", user_id="ann"),
        world.pageview("b", 90, "/", user_agent=IPHONE, referrer="https://news.ycombinator.com/"),
        world.identify("b", "ann", 91),
        world.pageview("c", 120, "/docs"),
        world.payment(121, "-9.00", "re_1", name="refund", user_id="ann"),
        world.payment(122, "10.00", "o2", currency="EUR", visitor_id="c"),
        world.server(123, "subscription.created", user_id="ann", props={"plan": "pro"}),
    )


def _normal(value: Any) -> Any:
    if isinstance(value, float | Decimal | int) and not isinstance(value, bool):
        return round(float(value), 2)
    return value


def test_duckdb_and_clickhouse_give_the_same_answers(tmp_path: Path, chdb_folder: Path) -> None:
    answers = []
    for engine in ENGINES:
        world = SmallWorld(tmp_path / engine, storage=storage_url(engine, chdb_folder))
        try:
            _world(world)
            answers.append(
                [
                    [
                        [_normal(v) for v in r["dimensions"] + r["metrics"]]
                        for r in world.query(**body)["results"]
                    ]
                    for body in QUERIES
                ]
            )
        finally:
            world.close()
    duck, house = answers
    for body, expected, found in zip(QUERIES, duck, house, strict=True):
        assert expected, body
        assert found == expected, body
