"""The People page's list of persons against a plain overview query, on both engines.

On the world `bench/query.py` generates (a copy of its DuckDB file, so that run may go on, and
a chDB copy of that), times through the query layer, in the same run: the overview's totals
(`visitors`, `visits`, `pageviews`, `bounce_rate`, `visit_duration` over the world's month), and
pages of the persons list (`identity/listing.py`) — the default page (identified persons, most
recently seen first), everyone, customers by revenue, the second page through a cursor, and a
search by prefix — each divided by the totals of the same run. A world generated before its
`actions` table was filled (an older `bench/query_world.py`) gets it filled in the copy first,
with the writer's rule (`identity/narrow.py`).

    .venv/bin/python bench/query.py --events 1000000 --no-postgres --no-chdb   # the world, once
    .venv/bin/python bench/people_list.py --rounds 7 [--no-chdb]

Prints a table and writes `bench/results/people-list-TIMESTAMP.{json,md}`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402

from clycyo.identity.listing import Cursor, Listing, list_persons  # noqa: E402
from clycyo.query import runner, spec  # noqa: E402
from clycyo.store.base import EventStore  # noqa: E402
from clycyo.store.duckdb.store import DuckDBStore  # noqa: E402
from query import CPU_MS, SITE, median_ms, period_of, say  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TOTALS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
LISTS: dict[str, dict[str, Any]] = {
    "identified, last seen (the default page)": {},
    "everyone, last seen": {"identified_only": False},
    "customers by revenue": {"sort": "revenue", "customers_only": True},
    "everyone by revenue": {"sort": "revenue", "identified_only": False},
    "search `user-1` (everyone)": {"prefix": "user-1", "identified_only": False},
}


def _fill_actions(store: DuckDBStore) -> int:
    """Fill an empty `actions` from the events, as the writer would have; rows added."""
    if store.execute("SELECT count(*) FROM actions")[0][0]:
        return 0
    store.execute(
        "INSERT INTO actions SELECT * FROM events WHERE revenue_amount IS NOT NULL"
        " OR (type <> 'pageview' AND name NOT IN ('engagement', 'web_vital'))"
    )
    store.execute("CHECKPOINT")
    return int(store.execute("SELECT count(*) FROM actions")[0][0])


def _timings(store: EventStore, date_range: list[str], rounds: int) -> list[dict[str, Any]]:
    body = spec.decode({"site": SITE.domain, "metrics": TOTALS, "date_range": date_range})
    works: dict[str, Callable[[], object]] = {
        "overview totals": lambda: runner.run_query(store, SITE, body),
    }
    for name, wanted in LISTS.items():
        listing = Listing(**wanted)
        works[name] = lambda listing=listing: list_persons(store, 1, "USD", listing)
    first = list_persons(store, 1, "USD", Listing())
    assert first.next_cursor is not None, "the world has fewer than one page of persons"
    after = Listing(after=Cursor.decode(first.next_cursor, "last_seen"))
    works["identified, last seen, page 2"] = lambda: list_persons(store, 1, "USD", after)
    rows: list[dict[str, Any]] = []
    for name, work in works.items():
        ms = median_ms(work, rounds, name)
        rows.append({"query": name, "ms": round(ms, 1), "cpu_ms": round(CPU_MS[name], 1)})
        say(f"  {name:<44} {ms:8.1f} ms  (CPU {CPU_MS[name]:.0f} ms)")
    plain, plain_cpu = rows[0]["ms"], rows[0]["cpu_ms"]
    for row in rows:
        row["ratio"] = round(row["ms"] / plain, 1)
        row["cpu_ratio"] = round(row["cpu_ms"] / plain_cpu, 1)
    return rows


def _same_pages(duck: EventStore, house: EventStore) -> None:
    """Both engines list the same persons with the same figures."""
    for wanted in LISTS.values():
        left = list_persons(duck, 1, "USD", Listing(**wanted))
        right = list_persons(house, 1, "USD", Listing(**wanted))
        assert left == right, wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world", default=str(ROOT / "bench/data/query-1000000-30d-seed7.duckdb"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-chdb", action="store_true", help="DuckDB only")
    args = parser.parse_args()
    about = machine()
    report: dict[str, Any] = {"machine": about, "rounds": args.rounds, "world": args.world}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "world.duckdb"
        shutil.copyfile(args.world, path)
        duck = DuckDBStore(path, threads=args.threads)
        added = _fill_actions(duck)
        if added:
            say(f"filled `actions` in the copy: {added:,} rows")
        date_range = period_of(duck)
        counts = {
            table: int(duck.execute(f"SELECT count(*) FROM {table}")[0][0])
            for table in ("events", "visits", "actions", "identities")
        }
        counts["persons"] = int(
            duck.execute("SELECT count(DISTINCT person_bits) FROM visits WHERE sign = 1")[0][0]
        )
        report["counts"] = counts
        say(f"world: {counts}")
        say("DuckDB:")
        report["duckdb"] = _timings(duck, date_range, args.rounds)
        if not args.no_chdb:
            from query_chdb import chdb_copy

            house = chdb_copy(path, duck.cursor(), args.threads, say)
            try:
                _same_pages(duck, house)
                say("chDB:")
                report["chdb"] = _timings(house, date_range, args.rounds)
            finally:
                house.close()
        duck.close()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"people-list-{stamp}.json").write_text(json.dumps(report, indent=2))
    lines = []
    for engine in ("duckdb", "chdb"):
        if engine not in report:
            continue
        lines += [
            f"| {engine} query | ms | CPU ms | ÷ overview totals | CPU ÷ overview totals |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in report[engine]:
            lines.append(
                f"| {row['query']} | {row['ms']} | {row['cpu_ms']:.0f} | {row['ratio']}x"
                f" | {row['cpu_ratio']}x |"
            )
        lines.append("")
    (RESULTS / f"people-list-{stamp}.md").write_text("\n".join(lines))
    say("\n".join(lines))


if __name__ == "__main__":
    main()
