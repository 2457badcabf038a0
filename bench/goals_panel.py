"""The dashboard's goals panel with 1, 10 and 100 page goals: one query per goal, or one for all.

The panel's custom events are one query (`visitors`, `events`, `conversion_rate` by
`event:name`, built-in events left out); its page goals were one query each (the same metrics
under `event:goal is` the goal) and are now one query by `event:goal` under `event:goal is`
every page goal. Both ways are timed here through the query layer, on the world `bench/query.py`
generated (a copy of its DuckDB file, so that run may go on), and each is divided by the plain
panel (the custom events' query alone) of the same run. The two ways' numbers are compared
goal by goal before any timing.

    .venv/bin/python bench/query.py --events 1000000 --no-postgres --no-chdb   # the world, once
    .venv/bin/python bench/goals_panel.py --rounds 7

Prints a table and writes `bench/results/goals-panel-TIMESTAMP.{json,md}`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402
from query_world import DOMAIN  # noqa: E402

from clycyo.query import runner  # noqa: E402
from clycyo.store.duckdb.store import DuckDBStore  # noqa: E402
from query import CPU_MS, SITE, median_ms, period_of, say  # noqa: E402

RESULTS = ROOT / "bench" / "results"
METRICS = ["visitors", "events", "conversion_rate"]
BUILT_IN = ["pageview", "identify", "engagement", "web_vital", "js_error", "rage_click"]
BUILT_IN += ["outbound_click", "file_download"]
# Goals of the world's pages (bench/query_world.py), many of them overlapping.
PATTERNS = ["/pricing", "/blog/**", "/docs/**", "/docs/*/*", "/signup", "/features", "/**"]
PATTERNS += ["/docs/api/*", "/blog/*", "/about"]
PATTERNS += [f"/blog/post-{n}" for n in range(60)] + [f"/docs/guides/{n}" for n in range(30)]
COUNTS = (1, 10, 100)


def _plain(date_range: list[str]) -> dict[str, Any]:
    return {
        "site": DOMAIN,
        "metrics": METRICS,
        "date_range": date_range,
        "dimensions": ["event:name"],
        "filters": [["is_not", "event:name", BUILT_IN]],
        "order_by": [["visitors", "desc"]],
        "limit": 10,
    }


def _one_goal(name: str, date_range: list[str]) -> dict[str, Any]:
    filters = [["is", "event:goal", [name]]]
    return {"site": DOMAIN, "metrics": METRICS, "date_range": date_range, "filters": filters}


def _all_goals(names: list[str], date_range: list[str]) -> dict[str, Any]:
    return {
        "site": DOMAIN,
        "metrics": METRICS,
        "date_range": date_range,
        "dimensions": ["event:goal"],
        "filters": [["is", "event:goal", names]],
        "order_by": [["visitors", "desc"]],
        "limit": len(names),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world", default=str(ROOT / "bench/data/query-1000000-30d-seed7.duckdb"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    about = machine()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "world.duckdb"
        shutil.copyfile(args.world, path)
        store = DuckDBStore(path, threads=args.threads)
        date_range = period_of(store)
        rows: list[dict[str, Any]] = []

        def run(body: dict[str, Any], patterns: list[str]) -> list[dict[str, Any]]:
            return runner.run_query(store, SITE, body, page_goals=patterns).results

        name = "plain panel"
        plain_ms = median_ms(lambda: run(_plain(date_range), []), args.rounds, name)
        plain_cpu = CPU_MS[name]
        say(f"  {name:<36} {plain_ms:8.1f} ms  (CPU {plain_cpu:.0f} ms)")
        for count in COUNTS:
            patterns = PATTERNS[:count]
            names = [f"Visit {p}" for p in patterns]
            apart = {n: run(_one_goal(n, date_range), patterns)[0]["metrics"] for n in names}
            together = {
                r["dimensions"][0]: r["metrics"]
                for r in run(_all_goals(names, date_range), patterns)
            }
            assert together == {n: m for n, m in apart.items() if m[0]}, (together, apart)

            def before(names: list[str] = names, patterns: list[str] = patterns) -> None:
                run(_plain(date_range), patterns)
                for n in names:
                    run(_one_goal(n, date_range), patterns)

            def after(names: list[str] = names, patterns: list[str] = patterns) -> None:
                run(_plain(date_range), patterns)
                run(_all_goals(names, date_range), patterns)

            for way, work in (("one query per goal", before), ("one query for all goals", after)):
                name = f"{count} page goals, {way}"
                ms = median_ms(work, args.rounds, name)
                rows.append(
                    {
                        "goals": count,
                        "way": way,
                        "ms": round(ms, 1),
                        "cpu_ms": round(CPU_MS[name]),
                        "ratio": round(ms / plain_ms, 1),
                        "cpu_ratio": round(CPU_MS[name] / plain_cpu, 1),
                    }
                )
                say(f"  {name:<36} {ms:8.1f} ms  (CPU {CPU_MS[name]:.0f} ms)  {ms / plain_ms:.1f}x")
        store.close()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"machine": about, "rounds": args.rounds, "plain_ms": plain_ms, "rows": rows}
    report["plain_cpu_ms"] = plain_cpu
    (RESULTS / f"goals-panel-{stamp}.json").write_text(json.dumps(report, indent=2))
    lines = ["| page goals | panel | ms | CPU ms | ÷ plain (ms) | ÷ plain (CPU) |"]
    lines += ["|---|---|---:|---:|---:|---:|"]
    lines.append(f"| none | custom events only | {plain_ms:.1f} | {plain_cpu:.0f} | 1.0 | 1.0 |")
    for row in rows:
        lines.append(
            f"| {row['goals']} | {row['way']} | {row['ms']} | {row['cpu_ms']} | {row['ratio']}"
            f" | {row['cpu_ratio']} |"
        )
    (RESULTS / f"goals-panel-{stamp}.md").write_text("\n".join(lines) + "\n")
    say("\n".join(lines))


if __name__ == "__main__":
    main()
