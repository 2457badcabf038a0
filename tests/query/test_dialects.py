"""The same world through both dialects: DuckDB and ClickHouse's engine (chDB) must agree.

The world is built on the real write path into DuckDB, its tables are copied into chDB through
Parquet, and each query runs through the same runner with the registry's ClickHouse expressions.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from clycyo.identity.schema import clickhouse_ddl
from clycyo.query import runner, spec
from clycyo.store.columns import COLUMNS
from tests.small_world import IPHONE, SmallWorld

chdb_session = pytest.importorskip("chdb.session")

TABLES = ("events", "visits", "identities", "vitals", "pageviews", "actions")
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


class ChdbStore:
    """Just enough of an event store over a chDB session: ClickHouse SQL, typed parameters."""

    dialect = "clickhouse"

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        names: dict[str, Any] = {}

        def placeholder(_: re.Match[str]) -> str:
            value = params[len(names)]
            name = f"p{len(names)}"
            names[name] = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value
            kind = (
                "DateTime64(6, 'UTC')"
                if isinstance(value, dt.datetime)
                else "Int64"
                if isinstance(value, int)
                else "String"
            )
            return "{" + f"{name}:{kind}" + "}"

        text = re.sub(r"\?", placeholder, sql)
        result = self.session.query(text, "JSONCompact", params=names)
        rows = json.loads(result.bytes() or b'{"data": []}')["data"]
        return [tuple(_typed(value) for value in row) for row in rows]


_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$")


def _typed(value: Any) -> Any:
    """JSON gives times as text; the runner wants them as `datetime` (as drivers return them)."""
    if isinstance(value, str) and _TIME.match(value):
        return dt.datetime.fromisoformat(value)
    return value


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


def test_duckdb_and_clickhouse_give_the_same_answers(world: SmallWorld, tmp_path: Path) -> None:
    _world(world)
    store = world.runtime.store
    session = chdb_session.Session(str(tmp_path / "chdb"))
    columns = ", ".join(f"{c.name} {c.clickhouse}" for c in COLUMNS)
    session.query(f"CREATE TABLE events ({columns}) ENGINE = MergeTree ORDER BY (site_id, time)")
    for table in TABLES:
        if table != "events":
            session.query(clickhouse_ddl(table))
        parquet = tmp_path / f"{table}.parquet"
        store.execute(f"COPY {table} TO '{parquet}' (FORMAT parquet)")
        session.query(f"INSERT INTO {table} SELECT * FROM file('{parquet}', Parquet)")
    clickhouse = ChdbStore(session)
    for body in QUERIES:
        query = spec.check(
            spec.decode({"site": world.domain, "date_range": [world.day, world.day], **body})
        )
        duck = runner.run_checked(store, world.site, query, approximate=False).results
        house = runner.run_checked(clickhouse, world.site, query, approximate=False).results  # type: ignore[arg-type]
        normal = [[_normal(v) for v in r["dimensions"] + r["metrics"]] for r in duck]
        assert normal == [[_normal(v) for v in r["dimensions"] + r["metrics"]] for r in house], body
        assert duck, body
