"""The baseline: the same data and equivalent dashboard queries in PostgreSQL (Umami's engine).

A throwaway cluster under a temporary folder (initdb, pg_ctl, run as the `postgres` user when
started as root), the events, the live visits and the identity links copied in from the DuckDB
file through CSV, indexed the way Umami indexes its tables (site and time), `ANALYZE`d. Queries
run through `psql` with `\\timing`; their SQL states the same questions as the dashboard set with
exact distinct counts and the same person rule (a visitor's link to a user at that time).
The same SQL also runs on DuckDB over the raw tables ("plain DuckDB"), for a second baseline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

PORT = 55_432

SCHEMA = """
CREATE TABLE events (site_id int, event_id text, time timestamp, origin text, type text,
    name text, visitor_id text, user_id text, page text, props jsonb, revenue_amount numeric(18,6),
    revenue_currency text, order_id text);
CREATE TABLE visits (site_id int, visitor_id text, started_at timestamp, pageviews int,
    is_bounce int, duration_s int, source text, channel text, country text, device text);
CREATE TABLE identities (site_id int, visitor_id text, user_id text, linked_at timestamp);
"""
INDEXES = """
CREATE INDEX events_site_time ON events (site_id, time);
CREATE INDEX visits_site_time ON visits (site_id, started_at);
CREATE INDEX identities_visitor ON identities (site_id, visitor_id);
ANALYZE;
"""
# DuckDB side of the copy: the columns above, props as JSON text, live visit states only.
EXPORTS = {
    "events": "SELECT site_id, event_id, time, origin, type, name, visitor_id, user_id, page,"
    " CASE WHEN props IS NULL THEN NULL ELSE to_json(props) END AS props, revenue_amount,"
    " revenue_currency, order_id FROM events",
    "visits": "SELECT site_id, visitor_id, started_at, pageviews, is_bounce, duration_s, source,"
    " channel, country, device FROM visits v WHERE sign = 1 AND NOT EXISTS (SELECT 1 FROM visits c"
    " WHERE c.sign = -1 AND c.visit_id = v.visit_id AND c.state = v.state)",
    "identities": "SELECT site_id, visitor_id, user_id, linked_at FROM identities",
}

# The identity map (intervals per visitor) and the ledger, as plain SQL both engines accept.
_IDMAP = """idmap AS (
    SELECT visitor_id, user_id,
        CASE WHEN row_number() OVER w = 1 THEN TIMESTAMP '-infinity' ELSE linked_at END
            AS valid_from,
        coalesce(lead(linked_at) OVER w, TIMESTAMP 'infinity') AS valid_to
    FROM (SELECT visitor_id, user_id, linked_at,
            lag(user_id) OVER (PARTITION BY visitor_id ORDER BY linked_at, user_id) AS previous
          FROM identities WHERE site_id = 1) changes
    WHERE previous IS DISTINCT FROM user_id
    WINDOW w AS (PARTITION BY visitor_id ORDER BY linked_at))"""
_VISITS = (
    "FROM visits v LEFT JOIN idmap m ON m.visitor_id = v.visitor_id"
    " AND v.started_at >= m.valid_from AND v.started_at < m.valid_to"
    " WHERE v.site_id = 1 AND v.started_at >= {start} AND v.started_at < {end}"
)
_PERSON_V = "coalesce(m.user_id, v.visitor_id)"
_EVENTS = (
    "FROM events e LEFT JOIN idmap m ON m.visitor_id = e.visitor_id AND e.time >= m.valid_from"
    " AND e.time < m.valid_to WHERE e.site_id = 1 AND e.time >= {start} AND e.time < {end}"
)
_PERSON_E = "coalesce(m.user_id, e.user_id, e.visitor_id)"

QUERIES: dict[str, str] = {
    "totals": f"WITH {_IDMAP} SELECT count(DISTINCT {_PERSON_V}), count(*), sum(v.pageviews),"
    f" round(100.0 * avg(v.is_bounce), 1), avg(v.duration_s) {_VISITS}",
    "time series": f"WITH {_IDMAP} SELECT date_trunc('day', v.started_at) AS day,"
    f" count(DISTINCT {_PERSON_V}), count(*), sum(v.pageviews) {_VISITS} GROUP BY 1 ORDER BY 1",
    "top pages": f"WITH {_IDMAP} SELECT e.page, count(DISTINCT {_PERSON_E}) AS visitors, count(*)"
    f" {_EVENTS} AND e.type = 'pageview' GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    "sources": f"WITH {_IDMAP} SELECT v.source, count(DISTINCT {_PERSON_V}) AS visitors, count(*)"
    f" {_VISITS} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    "countries": f"WITH {_IDMAP} SELECT v.country, count(DISTINCT {_PERSON_V}) AS visitors"
    f" {_VISITS} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    "devices": f"WITH {_IDMAP} SELECT v.device, count(DISTINCT {_PERSON_V}) AS visitors"
    f" {_VISITS} GROUP BY 1 ORDER BY 2 DESC",
    "revenue by first touch": f"""WITH {_IDMAP},
    money AS (SELECT * FROM (SELECT e.*, row_number() OVER (PARTITION BY coalesce(e.order_id,
        e.event_id), e.revenue_amount > 0 ORDER BY e.origin = 'server' DESC, e.time, e.event_id)
        AS copy
        FROM events e WHERE e.site_id = 1 AND e.revenue_amount IS NOT NULL) d WHERE copy = 1),
    paid AS (SELECT {_PERSON_E} AS person, e.revenue_amount, e.revenue_currency FROM money e
        LEFT JOIN idmap m ON m.visitor_id = e.visitor_id AND e.time >= m.valid_from
        AND e.time < m.valid_to WHERE e.time >= {{start}} AND e.time < {{end}}),
    firsts AS (SELECT DISTINCT ON (person) {_PERSON_V} AS person, v.channel
        FROM visits v LEFT JOIN idmap m ON m.visitor_id = v.visitor_id
        AND v.started_at >= m.valid_from AND v.started_at < m.valid_to WHERE v.site_id = 1
        ORDER BY person, v.started_at)
    SELECT f.channel, sum(p.revenue_amount) FILTER (WHERE p.revenue_currency = 'USD'),
        count(*) FILTER (WHERE p.revenue_amount > 0)
    FROM paid p LEFT JOIN firsts f USING (person) GROUP BY 1 ORDER BY 2 DESC""",
    "funnel (3 steps)": f"""WITH {_IDMAP},
    hits AS (SELECT {_PERSON_E} AS person, e.time AS t,
        (e.type = 'pageview' AND e.page = '/') AS s0,
        (e.type = 'pageview' AND e.page = '/pricing') AS s1, (e.name = 'signup') AS s2 {_EVENTS}
        AND ((e.type = 'pageview' AND e.page IN ('/', '/pricing')) OR e.name = 'signup')),
    marked AS (SELECT person, t, s0, s1,
        max(t) FILTER (WHERE s0) OVER (PARTITION BY person ORDER BY t
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS t0,
        min(t) FILTER (WHERE s2) OVER (PARTITION BY person ORDER BY t
            ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS t2 FROM hits)
    SELECT count(DISTINCT person) FILTER (WHERE s0),
        count(DISTINCT person) FILTER (WHERE s1 AND t <= t0 + INTERVAL '1 day'),
        count(DISTINCT person) FILTER (WHERE s1 AND t2 <= t0 + INTERVAL '1 day') FROM marked""",
    "web vitals p75": """SELECT props->>'metric' AS metric, percentile_cont(0.75) WITHIN GROUP
        (ORDER BY (props->>'value')::float8) FROM events WHERE site_id = 1 AND time >= {start}
        AND time < {end} AND name = 'web_vital' GROUP BY 1""",
}


def for_duckdb(sql: str) -> str:
    """The PostgreSQL text in DuckDB's spelling (props is a MAP there, not JSON)."""
    sql = re.sub(r"props->>'(\w+)'", r"props['\1']", sql)
    return sql.replace("::float8", "::DOUBLE")


@cache
def bin_dir() -> Path:
    """The server programs' folder: Debian's newest `/usr/lib/postgresql/N/bin`, else what
    `pg_config --bindir` names, else wherever `initdb` is on the PATH."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else -1,
    )
    if debian:
        return debian[-1].parent
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], check=False, capture_output=True, text=True)
        folder = Path(found.stdout.strip())
        if found.returncode == 0 and (folder / "initdb").is_file():
            return folder
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's initdb not found: `make bench-packages`, or --no-postgres")


def _program(name: str) -> str:
    return str(bin_dir() / name)


def _as_postgres(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in command)]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


class Postgres:
    def __init__(self, progress: Callable[[str], None]) -> None:
        self.progress = progress
        self.folder = Path(tempfile.mkdtemp(prefix="clycyo-pg-"))
        self.cluster = self.folder / "cluster"
        shutil.chown(self.folder, "postgres") if os.geteuid() == 0 else None
        os.chmod(self.folder, 0o777)

    def start(self) -> None:
        _as_postgres([_program("initdb"), "-D", str(self.cluster), "-A", "trust", "-U", "postgres"])
        settings = (
            f"-p {PORT} -k {self.folder} -c shared_buffers=2GB -c work_mem=256MB"
            " -c max_parallel_workers_per_gather=2 -c jit=off"
        )
        _as_postgres(
            [
                _program("pg_ctl"),
                "-D",
                str(self.cluster),
                "-o",
                settings,
                "-w",
                "-l",
                str(self.folder / "log"),
                "start",
            ]
        )

    def psql(self, script: str) -> str:
        path = self.folder / f"script-{time.monotonic_ns()}.sql"
        path.write_text(script)
        os.chmod(path, 0o644)
        result = subprocess.run(
            [
                _program("psql"),
                "-h",
                str(self.folder),
                "-p",
                str(PORT),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-f",
                str(path),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def load(self, duck: Any) -> float:
        started = time.perf_counter()
        self.psql(SCHEMA)
        for table, select in EXPORTS.items():
            csv = self.folder / f"{table}.csv"
            duck.execute(f"COPY ({select}) TO '{csv}' (HEADER false, DELIMITER ',')")
            os.chmod(csv, 0o644)
            self.psql(f"\\copy {table} FROM '{csv}' WITH (FORMAT csv)")
            csv.unlink()
            self.progress(f"  PostgreSQL: {table} loaded")
        self.psql(INDEXES)
        return time.perf_counter() - started

    def time(self, name: str, sql: str, rounds: int) -> float:
        """Median milliseconds over `rounds` runs (after one warm-up), as psql measures them."""
        script = "\\o /dev/null\n" + f"{sql};\n" + "\\timing on\n" + f"{sql};\n" * rounds
        out = self.psql(script)
        times = sorted(float(m) for m in re.findall(r"Time: ([\d.]+) ms", out))
        if len(times) != rounds:
            raise RuntimeError(f"{name}: expected {rounds} timings, got {out[-500:]}")
        return times[len(times) // 2]

    def stop(self) -> None:
        try:
            _as_postgres([_program("pg_ctl"), "-D", str(self.cluster), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
