"""`clycyo compact`: rewrite the DuckDB event store with only its live rows (server stopped).

See `store/compact.py` for why and how; this prints what it did, or why it did nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clycyo import local_server
from clycyo.settings import Settings
from clycyo.store.compact import CompactError, compact


def run(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        settings = Settings.from_env(data_dir, memory_limit=args.memory_limit)
    except ValueError as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 2
    data_dir = settings.data_dir
    server = local_server.find(data_dir)
    if server is not None:
        # The store's own lock would refuse too, but in DuckDB's words and after "compacting".
        print(
            f"clycyo: a server is running on {data_dir} ({server.url}); stop it first",
            file=sys.stderr,
        )
        return 1
    if not args.json:
        print(f"compacting {data_dir}/events.duckdb …", flush=True)
    try:
        report = compact(
            data_dir,
            progress=sys.stdout.isatty() and not args.json,
            memory_limit=settings.memory_limit,
        )
    except (CompactError, OSError) as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        before, after = report["before_bytes"] / 1e6, report["after_bytes"] / 1e6
        print(f"events.duckdb: {before:,.1f} MB before, {after:,.1f} MB after")
    return 0
