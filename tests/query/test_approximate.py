"""Approximate distinct counting stays within 1 % of the exact count, group by group, and
changes nothing else."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from clycyo.config.store import Site
from clycyo.identity.deriver import IdentityDeriver
from clycyo.model import Event
from clycyo.query import runner, spec
from clycyo.store.columns import fingerprint, to_arrow
from clycyo.store.duckdb.store import DuckDBStore

DAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
SITE = Site(1, "shop.test", "pk_test")
PAGES = [f"/p{n}" for n in range(40)]
CHANNELS = [("Google", "Organic Search"), (None, "Direct"), ("Hacker News", "Organic Social")]


def _world(path: Path, visitors: int) -> DuckDBStore:
    store = DuckDBStore(path)
    deriver = IdentityDeriver(store)
    rng = random.Random(3)
    events = []
    for number in range(visitors):
        for visit in range(1 + (number % 3 == 0)):
            t = int((DAY.timestamp() + rng.randrange(7 * 86400)) * 1e6) + visit * 7200 * 10**6
            source, channel = rng.choice(CHANNELS)
            for view in range(rng.randrange(1, 4)):
                page = rng.choice(PAGES[: 1 + number % 40])
                events.append(
                    Event(
                        site_id=1,
                        event_id=f"e{len(events)}",
                        time_us=t + view * 10**7,
                        received_us=t,
                        origin="browser",
                        type="pageview",
                        name="pageview",
                        visitor_id=f"visitor-{number}",
                        page=page,
                        url=f"https://shop.test{page}",
                        source=source if view == 0 else None,
                        channel=channel if view == 0 else None,
                    )
                )
    events.sort(key=lambda e: e.time_us)
    derived = deriver.derive(events)
    fingerprints = [fingerprint(1, e.event_id) for e in events]
    table = to_arrow(events, fingerprints, [1] * len(events), derived.visit_ids)
    store.write(table, seq=1, superseded=[], derived=derived.all_tables(table))
    deriver.commit()
    return store


def _both(
    store: DuckDBStore, body: dict[str, object]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    query = spec.check(
        spec.decode({"site": "shop.test", "date_range": ["2026-03-01", "2026-03-10"], **body})
    )
    exact = runner.run_checked(store, SITE, query, approximate=False)
    rough = runner.run_checked(store, SITE, query, approximate=True)
    assert not exact.meta["approximate"] and rough.meta["approximate"]

    def rows(result: runner.Result) -> dict[str, list[float]]:
        return {"/".join(map(str, r["dimensions"])): r["metrics"] for r in result.results}

    return rows(exact), rows(rough)


def test_approximate_visitors_stay_within_one_percent(tmp_path: Path) -> None:
    store = _world(tmp_path / "events.duckdb", 6000)
    try:
        for dimensions in ([], ["visit:channel"], ["event:page"], ["time:day"]):
            metrics = ["visitors", "pageviews", "visits"]
            exact, rough = _both(
                store, {"metrics": metrics, "dimensions": dimensions, "limit": 1000}
            )
            assert exact.keys() == rough.keys()
            for key, (visitors, pageviews, visits) in exact.items():
                approximate = rough[key]
                assert abs(approximate[0] - visitors) <= max(0.01 * visitors, 0), (dimensions, key)
                if dimensions != ["event:page"]:
                    assert approximate[1:] == [pageviews, visits], (dimensions, key)
        total = _both(store, {"metrics": ["visitors"]})[0][""][0]
        assert total == 6000
    finally:
        store.close()
