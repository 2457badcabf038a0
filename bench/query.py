"""Dashboard query speed on 10 million events: Clycyo's query layer against PostgreSQL.

One run:

1. generates a month of realistic traffic for one site straight into a DuckDB file through the
   real deriver and store write path (`query_world.py`; reused from `bench/data/` when it exists
   with the same arguments, since generating takes minutes);
2. times the dashboard's queries through the query layer (`run_checked`, `run_funnel`,
   `vitals.percentiles`) — totals, time series, top pages (also with time on page and scroll
   depth), sources, countries, devices, revenue by first-touch channel, a 3-step funnel,
   web-vitals p75 — median of `--rounds` runs after a
   warm-up, with the DuckDB connection limited to `--threads`;
3. measures the error of approximate visitor counts against exact ones, group by group;
4. loads the same events, visits and identity links into a throwaway PostgreSQL cluster and
   times equivalent SQL there (exact distinct counts, `query_postgres.py`), and the same SQL on
   the DuckDB file's raw tables ("plain DuckDB");
5. copies the world into chDB (ClickHouse's in-process engine; `query_chdb.py`, kept beside the
   DuckDB file), times the same dashboard queries through the same query layer in ClickHouse's
   dialect, measures its approximate counts, and reports both engines' bytes per event on disk.

    .venv/bin/python bench/query.py                      # 10 M events, PostgreSQL included
    .venv/bin/python bench/query.py --events 1000000 --no-postgres --no-chdb

Prints a table and writes `bench/results/query-TIMESTAMP.{json,md}`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402
from query_postgres import QUERIES, Postgres, for_duckdb  # noqa: E402
from query_world import DOMAIN, load  # noqa: E402

from clycyo.config.store import Site  # noqa: E402
from clycyo.query import approximate, funnels, runner, spec, vitals  # noqa: E402
from clycyo.store.base import EventStore  # noqa: E402
from clycyo.store.duckdb.store import DuckDBStore  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SITE = Site(1, DOMAIN, "pk_bench", "UTC", "USD")
DASHBOARD: dict[str, dict[str, Any]] = {
    "totals": {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]},
    "time series": {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
    "top pages": {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "limit": 10},
    # Top pages with the dashboard's engagement columns (`pageviews` beside `engagements`).
    "top pages, time on page, scroll depth": {
        "metrics": ["visitors", "pageviews", "time_on_page", "scroll_depth"],
        "dimensions": ["event:page"],
        "limit": 10,
    },
    "sources": {"metrics": ["visitors", "visits"], "dimensions": ["visit:source"], "limit": 10},
    "countries": {"metrics": ["visitors"], "dimensions": ["visit:country"], "limit": 10},
    "devices": {"metrics": ["visitors"], "dimensions": ["visit:device"], "limit": 10},
    "revenue by first touch": {
        "metrics": ["revenue", "orders"],
        "dimensions": ["first_touch:channel"],
    },
}
FUNNEL = {"steps": [{"page": "/"}, {"page": "/pricing"}, {"name": "signup"}], "window": "1d"}


def say(text: str) -> None:
    print(text, flush=True)


CPU_MS: dict[str, float] = {}  # CPU time (all threads of this process) per query, median


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def median_ms(work: Callable[[], object], rounds: int, name: str = "") -> float:
    """Median wall milliseconds over `rounds` runs after a warm-up; CPU time goes to CPU_MS.

    CPU time is the figure least disturbed by other work on a shared machine; wall time is what
    a user waits for."""
    work()
    times, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), _cpu_s()
        work()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((_cpu_s() - started_cpu) * 1000)
    if name:
        CPU_MS[name] = statistics.median(cpu)
    return statistics.median(times)


def world_file(args: argparse.Namespace) -> Path:
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"query-{args.events}-{args.days}d-seed{args.seed}.duckdb"
    if path.exists() and not args.regenerate:
        say(f"reusing {path}")
        return path
    path.unlink(missing_ok=True)
    say(f"generating {args.events:,} events over {args.days} days into {path} …")
    store = DuckDBStore(path)
    report = load(store, args.events, days=args.days, seed=args.seed, progress=say)
    store.execute("CHECKPOINT")
    store.close()
    say(f"generated {report['events']:,} events in {report['seconds']:.0f} s")
    return path


def period_of(store: DuckDBStore) -> list[str]:
    first, last = store.execute("SELECT min(time)::DATE, max(time)::DATE FROM events")[0]
    return [first.isoformat(), last.isoformat()]


def clycyo_timings(store: EventStore, date_range: list[str], rounds: int) -> dict[str, float]:
    found = {}
    for name, body in DASHBOARD.items():
        query = spec.check(spec.decode({"site": DOMAIN, "date_range": date_range, **body}))
        found[name] = median_ms(lambda q=query: runner.run_checked(store, SITE, q), rounds, name)
        say(f"  {name:<24} {found[name]:8.1f} ms  (CPU {CPU_MS[name]:.0f} ms)")
    funnel = {"site": DOMAIN, "date_range": date_range, **FUNNEL}
    name = "funnel (3 steps)"
    found[name] = median_ms(lambda: funnels.run_funnel(store, SITE, funnel), rounds, name)
    say(f"  {name:<24} {found[name]:8.1f} ms  (CPU {CPU_MS[name]:.0f} ms)")
    name = "web vitals p75"
    found[name] = median_ms(
        lambda: vitals.percentiles(store, SITE, date_range, by_page=False), rounds, name
    )
    say(f"  {name:<24} {found[name]:8.1f} ms  (CPU {CPU_MS[name]:.0f} ms)")
    return found


def approximation_errors(store: EventStore, date_range: list[str]) -> dict[str, float]:
    """Largest relative error (%) of approximate visitor counts against exact ones: over every
    group of each dashboard breakdown, and over the rows each query returns."""
    every_group = returned = 0.0
    ctx = runner.site_context(SITE)
    for name, body in DASHBOARD.items():
        if "visitors" not in body["metrics"]:
            continue
        query = spec.check(spec.decode({"site": DOMAIN, "date_range": date_range, **body}))
        index = body["metrics"].index("visitors")
        exact = dict(runner._compute(store, query, query.period, ctx, False))
        visits = approximate.visits_in(store, 1, query.period)
        rough = dict(runner._compute(store, query, query.period, ctx, True, visits=visits))
        for key, values in exact.items():
            truth = values[index]
            if truth and key in rough:
                error = abs(rough[key][index] - truth) / truth * 100
                every_group = max(every_group, error)
        served = runner.run_checked(store, SITE, query, approximate=True).results
        for row in served:
            key = tuple(None if v == "(none)" else v for v in row["dimensions"])
            truth = next(
                (v[index] for k, v in exact.items() if _label(query, k) == row["dimensions"]), None
            )
            if truth:
                returned = max(returned, abs(row["metrics"][index] - truth) / truth * 100)
            del key
        say(f"  {name:<24} every group {every_group:.3f} %  returned rows {returned:.3f} %")
    return {"every_group_max_pct": every_group, "returned_max_pct": returned}


def _label(query: spec.Query, key: tuple[Any, ...]) -> list[Any]:
    return runner._labels(query, key)


def baseline_sql(date_range: list[str]) -> dict[str, str]:
    start = f"TIMESTAMP '{date_range[0]} 00:00:00'"
    end_day = dt.date.fromisoformat(date_range[1]) + dt.timedelta(days=1)
    end = f"TIMESTAMP '{end_day.isoformat()} 00:00:00'"
    return {name: sql.format(start=start, end=end) for name, sql in QUERIES.items()}


def plain_duckdb(store: DuckDBStore, sqls: dict[str, str], rounds: int) -> dict[str, float]:
    """The PostgreSQL SQL on DuckDB's raw tables (live visits as a temporary view)."""
    store.execute(
        "CREATE OR REPLACE TEMP VIEW live_visits AS SELECT * FROM visits v WHERE sign = 1 AND NOT"
        " EXISTS (SELECT 1 FROM visits c WHERE c.sign = -1 AND c.visit_id = v.visit_id"
        " AND c.state = v.state)"
    )
    found = {}
    for name, sql in sqls.items():
        text = for_duckdb(sql).replace("FROM visits v", "FROM live_visits v")
        found[name] = median_ms(lambda t=text: store.execute(t), rounds)
        say(f"  {name:<24} {found[name]:8.1f} ms")
    return found


def table(results: dict[str, Any]) -> str:
    """The dashboard queries' table; the PostgreSQL columns only when PostgreSQL was run."""
    clycyo, plain = results["clycyo_ms"], results["plain_duckdb_ms"]
    pg = results.get("postgres_ms")
    cpu = results.get("clycyo_cpu_ms", {})
    head = "| query | Clycyo ms | Clycyo CPU ms | plain DuckDB ms |"
    rule = "|---|---:|---:|---:|"
    if pg is not None:
        head += " PostgreSQL ms | PostgreSQL / Clycyo |"
        rule += "---:|---:|"
    lines = [head, rule]
    for name, ms in clycyo.items():
        baseline = f"{plain[name]:.0f}" if name in plain else "-"  # no plain SQL for it
        row = f"| {name} | {ms:.1f} | {cpu.get(name, 0):.0f} | {baseline} |"
        if pg is not None:
            row += f" {pg[name]:.0f} | {pg[name] / ms:.0f}x |" if name in pg else " - | - |"
        lines.append(row)
    total = sum(clycyo.values())
    row = (
        f"| **all dashboard queries** | **{total:.0f}** | **{sum(cpu.values()):.0f}** |"
        f" **{sum(plain.values()):.0f}** |"
    )
    if pg is not None:
        pg_total = sum(pg.values())
        shared = sum(ms for name, ms in clycyo.items() if name in pg)  # the queries both ran
        row += f" **{pg_total:.0f}** | **{pg_total / shared:.0f}x** |"
    lines.append(row)
    return "\n".join(lines)


def chdb_table(results: dict[str, Any]) -> str:
    duck, house = results["clycyo_ms"], results["chdb_ms"]
    duck_cpu, house_cpu = results["clycyo_cpu_ms"], results["chdb_cpu_ms"]
    lines = [
        "| query | DuckDB ms | DuckDB CPU ms | chDB ms | chDB CPU ms | chDB / DuckDB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, ms in duck.items():
        lines.append(
            f"| {name} | {ms:.1f} | {duck_cpu.get(name, 0):.0f} | {house[name]:.1f}"
            f" | {house_cpu.get(name, 0):.0f} | {house[name] / ms:.1f}x |"
        )
    total, total_house = sum(duck.values()), sum(house.values())
    lines.append(
        f"| **all dashboard queries** | **{total:.0f}** | **{sum(duck_cpu.values()):.0f}**"
        f" | **{total_house:.0f}** | **{sum(house_cpu.values()):.0f}**"
        f" | **{total_house / total:.1f}x** |"
    )
    return "\n".join(lines)


def chdb_run(
    path: Path, duck: DuckDBStore, args: argparse.Namespace, date_range: list[str]
) -> dict[str, Any]:
    """The same dashboard queries on a chDB copy of the world, and both engines' disk use."""
    from query_chdb import chdb_copy, disk_bytes

    store = chdb_copy(path, duck.cursor(), args.threads, say)
    try:
        found: dict[str, Any] = {}
        say("Clycyo's query layer on chDB:")
        CPU_MS.clear()
        found["chdb_ms"] = clycyo_timings(store, date_range, args.rounds)
        found["chdb_cpu_ms"] = dict(CPU_MS)
        say("approximate visitor counts on chDB against exact ones:")
        found["chdb_approximation"] = approximation_errors(store, date_range)
        found["disk"] = {"duckdb_file_bytes": path.stat().st_size, "chdb": disk_bytes(store)}
    finally:
        store.close()
    return found


def disk_lines(results: dict[str, Any]) -> str:
    events = results["events"]
    tables = results["disk"]["chdb"]
    total = sum(t["bytes"] for t in tables.values())
    return (
        f"bytes per event on disk: DuckDB file {results['disk']['duckdb_file_bytes'] / events:.1f};"
        f" chDB all tables {total / events:.1f}, events table alone"
        f" {tables['events']['bytes'] / events:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--memory-limit", default=None, help="DuckDB memory_limit, e.g. 256MB (default: DuckDB's)"
    )
    parser.add_argument("--data", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-chdb", action="store_true", help="skip the ClickHouse (chDB) run")
    args = parser.parse_args()
    path = world_file(args)
    store = DuckDBStore(path, threads=args.threads, memory_limit=args.memory_limit)
    date_range = period_of(store)
    counts = store.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT sum(sign) FROM visits),"
        " (SELECT count(*) FROM identities)"
    )[0]
    say(f"{counts[0]:,} events, {counts[1]:,} visits, {counts[2]:,} identity links, {date_range}")
    results: dict[str, Any] = {
        "command": " ".join(["bench/query.py", *sys.argv[1:]]),
        "machine": machine(),
        "events": counts[0],
        "visits": int(counts[1]),
        "date_range": date_range,
        "rounds": args.rounds,
        "threads": args.threads,
        "memory_limit": args.memory_limit,
    }
    say("Clycyo's query layer:")
    results["clycyo_ms"] = clycyo_timings(store, date_range, args.rounds)
    results["clycyo_cpu_ms"] = dict(CPU_MS)
    say("approximate visitor counts against exact ones:")
    results["approximation"] = approximation_errors(store, date_range)
    if not args.no_chdb:
        results.update(chdb_run(path, store, args, date_range))
    sqls = baseline_sql(date_range)
    say("plain DuckDB (the PostgreSQL SQL on raw tables):")
    results["plain_duckdb_ms"] = plain_duckdb(store, sqls, args.rounds)
    if not args.no_postgres:
        postgres = Postgres(say)
        try:
            say("PostgreSQL: starting a throwaway cluster and loading …")
            postgres.start()
            results["postgres_load_s"] = postgres.load(store)
            results["postgres_ms"] = {}
            for name, sql in sqls.items():
                results["postgres_ms"][name] = postgres.time(name, sql, max(1, args.rounds // 2))
                say(f"  {name:<24} {results['postgres_ms'][name]:8.1f} ms")
        finally:
            postgres.stop()
    store.close()
    results["machine"]["load_average_after"] = os.getloadavg()
    text = table(results)
    say("\n" + text)
    say(
        f"\napproximate visitors: max error {results['approximation']['returned_max_pct']:.3f} %"
        f" in the rows returned, {results['approximation']['every_group_max_pct']:.3f} % over"
        " every group"
    )
    if "chdb_ms" in results:
        text += "\n\n" + chdb_table(results) + "\n\n" + disk_lines(results)
        say("\n" + chdb_table(results) + "\n\n" + disk_lines(results))
        errors = results["chdb_approximation"]
        say(
            f"approximate visitors on chDB: max error {errors['returned_max_pct']:.3f} % in the"
            f" rows returned, {errors['every_group_max_pct']:.3f} % over every group"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"query-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / f"query-{stamp}.md").write_text(text + "\n")
    say(f"written: bench/results/query-{stamp}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
