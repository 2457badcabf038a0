"""`clycyo query`: the query API from the command line, as a table or JSON.

The spec comes from a JSON file (`--spec FILE`, `-` for standard input), from flags, or both
(flags win). When a server runs on the data folder, DuckDB lets only it open the store: the query
goes through its `POST /api/v1/query` with `--key` (or `CLYCYO_KEY`) if given, else through
`POST /api/admin/query` with the admin token it left in the folder. With `--url` it goes to that
server and needs a key: the admin token never leaves for another address. When no server runs,
the folder is opened directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clycyo import local_server
from clycyo.file_errors import unreadable

if TYPE_CHECKING:
    from clycyo.runtime import Runtime


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _filter(text: str) -> list[Any]:
    """`'is event:name signup,purchase'` or a JSON list `'["is", "event:page", ["/"]]'`."""
    if text.lstrip().startswith("["):
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError("a filter in JSON is a list")
        return loaded
    parts = text.split(None, 2)
    if len(parts) != 3:
        raise ValueError(f"filter {text!r}: expected 'OPERATOR DIMENSION VALUE[,VALUE…]'")
    operator, dimension, values = parts
    return [operator, dimension, [v for v in values.split(",") if v]]


COMPARISONS = {"previous": "previous_period", "year": "year_over_year"}


def _comparison(text: str) -> str | dict[str, list[str]]:
    """`previous`, `year`, or a range of one's own as `FIRST,LAST` (the query API checks the
    days)."""
    if text in COMPARISONS:
        return COMPARISONS[text]
    days = [day.strip() for day in text.split(",")]
    if len(days) != 2 or not all(days):
        raise ValueError(f"--compare {text!r}: expected previous, year or FIRST,LAST")
    return {"date_range": days}


def _order(text: str) -> list[str]:
    """`name:desc` or `name:asc` (a dimension's name has colons of its own)."""
    name, _, direction = text.rpartition(":")
    if not name or direction not in ("asc", "desc"):
        raise ValueError(f"--order-by {text!r}: expected NAME:desc or NAME:asc")
    return [name, direction]


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if args.spec:
        source = "standard input" if args.spec == "-" else args.spec
        try:
            text = sys.stdin.read() if args.spec == "-" else Path(args.spec).read_text()
        except OSError as exc:
            raise ValueError(unreadable(args.spec, exc)) from None
        try:
            spec = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"--spec: {source} is not JSON ({exc})") from None
        if not isinstance(spec, dict):
            raise ValueError(f"--spec: {source} is not a JSON object")
    if args.site:
        spec["site"] = args.site
    if args.metrics:
        spec["metrics"] = _split(args.metrics)
    if args.dimensions:
        spec["dimensions"] = _split(args.dimensions)
    if args.filter:
        spec["filters"] = [_filter(f) for f in args.filter]
    if args.date_range:
        spec["date_range"] = args.date_range
    if args.start or args.end:
        if not (args.start and args.end):
            raise ValueError("--from and --to go together")
        spec["date_range"] = [args.start, args.end]
    if args.order_by:
        spec["order_by"] = [_order(item) for item in _split(args.order_by)]
    if args.limit is not None:
        spec["limit"] = args.limit
    if args.compare is not None:  # `--compare=` is a mistake, not no comparison
        spec["include"] = {**spec.get("include", {}), "comparison": _comparison(args.compare)}
    spec.setdefault("metrics", ["visitors", "visits", "pageviews"])
    if "site" not in spec:
        raise ValueError("--site is required (or a spec file naming the site)")
    return spec


QUERY_PATH = "/api/v1/query"
ADMIN_QUERY_PATH = "/api/admin/query"


def open_folder(data_dir: Path, hint: str = "") -> Runtime:
    """The folder's runtime, for a command that asks the query layer with no server running;
    ValueError saying why it cannot be opened (`hint`: what to do if a server runs on it)."""
    from clycyo.runtime import Runtime, Settings
    from clycyo.store.open import clickhouse_folder_refusal, loads_into_clickhouse

    if loads_into_clickhouse(data_dir):
        # Opened here, it would be served from DuckDB, and its intake log loaded there.
        raise ValueError(clickhouse_folder_refusal(data_dir, "query it"))
    try:
        return Runtime.open(Settings.from_env(data_dir))
    except Exception as exc:  # a store held by another process, a folder of another user, …
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"cannot open the data folder {data_dir} ({first_line}){hint}") from None


def _locally(data_dir: Path, spec: dict[str, Any]) -> tuple[int, Any]:
    from clycyo.query import api
    from clycyo.query.errors import QueryError, UnknownSite

    try:
        runtime = open_folder(data_dir, "; if a server runs on it, pass --url and --key")
    except ValueError as exc:
        return 1, {"error": str(exc)}
    try:
        return 200, api.run(runtime, spec)
    except UnknownSite as exc:  # said as the server's admin query says it
        return 404, {"error": f"no site {exc.domain}"}
    except QueryError as exc:
        return 400, {"error": str(exc)}
    finally:
        runtime.close()


def render_table(spec: dict[str, Any], answer: dict[str, Any]) -> str:
    """The answer as aligned columns; with a comparison, each metric is followed by its value in
    the previous period and the change (percent, or points for a percentage)."""
    metrics: list[str] = spec["metrics"]
    compared = any("comparison" in r for r in answer["results"])
    header = list(spec.get("dimensions", []))
    for metric in metrics:
        header += [metric, f"{metric} before", "change"] if compared else [metric]
    rows = []
    for result in answer["results"]:
        row = list(map(str, result["dimensions"]))
        before = result.get("comparison") or {}
        old_values = before.get("metrics") or [""] * len(metrics)
        changes = before.get("change") or [None] * len(metrics)
        for metric, value, old, change in zip(
            metrics, result["metrics"], old_values, changes, strict=True
        ):
            row += (
                [_cell(value), _cell(old), _change(metric, change)] if compared else [_cell(value)]
            )
        rows.append(row)
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
    dims = len(spec.get("dimensions", []))

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i < dims else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    previous = answer.get("meta", {}).get("comparison_date_range")
    if compared and previous:
        out.append(f"(before: {previous[0]} to {previous[1]})")
    others = answer.get("meta", {}).get("other_currencies")
    if others:
        out.append(f"(not in revenue: {json.dumps(others)})")
    return "\n".join(out)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)  # None: no value, such as a rate of nothing


def _change(metric: str, change: float | None) -> str:
    if change is None:
        return "-"
    from clycyo.query.registry import METRICS

    known = METRICS.get(metric)
    unit = " pt" if known is not None and known.unit == "percent" else "%"
    return f"{change:+g}{unit}"


def _endpoint_and_key(args: argparse.Namespace, data_dir: Path) -> tuple[str | None, str]:
    """The URL to ask (None: open the folder) and the credential; ValueError when none fits."""
    key = args.key or os.environ.get("CLYCYO_KEY") or ""
    if args.url is not None:
        if not key:
            raise ValueError(
                f"{args.url} needs a key: pass --key (the site's secret key or an API token)"
                " or set CLYCYO_KEY"
            )
        return str(args.url).rstrip("/") + QUERY_PATH, key
    running = local_server.find(data_dir)
    if running is not None:
        if key:
            return running.url + QUERY_PATH, key
        return running.url + ADMIN_QUERY_PATH, running.admin_token
    if local_server.token_unreadable(data_dir):
        raise ValueError(
            f"a server runs on {data_dir} but its admin token cannot be read by this user:"
            " pass --key (the site's secret key or an API token) or set CLYCYO_KEY"
        )
    return None, key


def run(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        spec = build_spec(args)
        endpoint, key = _endpoint_and_key(args, data_dir)
    except (ValueError, OSError) as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 2
    if endpoint is not None:
        status, answer = local_server.call_json("POST", endpoint, key, spec, timeout_s=120)
    else:
        status, answer = _locally(data_dir, spec)
    if status != 200:
        print(f"clycyo: {answer.get('error', answer)}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2) if args.json else render_table(spec, answer))
    return 0
