"""`clycyo quarantine list|show|replay`: look at rejected events and submit them again.

Listing and showing read the quarantine's SQLite file directly (safe while a server runs).
Replaying needs the pipeline and the event store, so it goes through the running server's admin
endpoint (found through `server.json`), or, when no server runs on the data folder, opens the
data folder itself. A replay that fails again leaves the one entry, with the new reason and one
more attempt (see `store/quarantine.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

import msgspec

from clycyo import local_server
from clycyo.collect.replay import ReplayError, replay_entry
from clycyo.config.store import ConfigStore
from clycyo.runtime import Runtime
from clycyo.settings import Settings, config_path
from clycyo.store.open import clickhouse_folder_refusal, loads_into_clickhouse
from clycyo.store.quarantine import Entry, Quarantine


def _when(received_us: int) -> str:
    return dt.datetime.fromtimestamp(received_us / 1e6, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _as_dict(entry: Entry, domains: dict[int, str]) -> dict[str, object]:
    return {
        "id": entry.id,
        "site": domains.get(entry.site_id, str(entry.site_id)),
        "received_at": _when(entry.received_us),
        "trusted": entry.trusted,
        "error": entry.error,
        "payload": json.loads(entry.payload) if entry.payload.startswith("{") else entry.payload,
        "replayed_at": None if entry.replayed_us is None else _when(entry.replayed_us),
        "attempts": entry.attempts,
        "last_rejected_at": (
            None if entry.last_rejected_us is None else _when(entry.last_rejected_us)
        ),
        # What a browser event's request showed, kept for its replay (never the request itself).
        "observed": None if entry.observed is None else msgspec.to_builtins(entry.observed),
    }


def run(args: argparse.Namespace, data_dir: Path) -> int:
    quarantine = Quarantine(data_dir / "quarantine.sqlite")
    config = ConfigStore(config_path(data_dir))
    domains = {site.id: site.domain for site in config.sites()}
    if args.action == "list":
        site_id = None
        if args.site:
            site = config.site_by_domain(args.site)
            if site is None:
                print(f"clycyo: no site {args.site}", file=sys.stderr)
                return 1
            site_id = site.id
        entries = quarantine.entries(site_id=site_id, limit=args.limit)
        if args.json:
            print(json.dumps([_as_dict(e, domains) for e in entries], indent=2))
            return 0
        if not entries:
            print("the quarantine is empty")
        for entry in entries:
            replayed = "  (replayed)" if entry.replayed_us else ""
            if entry.attempts > 1:
                replayed += f"  ({entry.attempts} attempts)"
            site_name = domains.get(entry.site_id, "?")
            when = _when(entry.received_us)
            print(f"{entry.id:>6}  {when}  {site_name:<24} {entry.error}{replayed}")
        return 0
    found = quarantine.get(args.entry)
    if found is None:
        print(f"clycyo: no quarantined event {args.entry}", file=sys.stderr)
        return 1
    if args.action == "show":
        print(json.dumps(_as_dict(found, domains), indent=2))
        return 0
    server = local_server.find(data_dir)
    if server is None and loads_into_clickhouse(data_dir):
        # Opened here, the folder would be served from DuckDB: the replay, and whatever its
        # intake log holds that ClickHouse has not loaded, would go into the wrong store.
        print(f"clycyo: {clickhouse_folder_refusal(data_dir, 'replay')}", file=sys.stderr)
        return 1
    # Asked before the replay: its rejection may be loaded (by the server) before it answers.
    quarantine.replay_asked(found.id, time.time_ns() // 1000)
    return _replay(found, data_dir, server)


def _replay(entry: Entry, data_dir: Path, server: local_server.LocalServer | None) -> int:
    if server is not None:
        status, body = server.call("POST", f"/api/admin/quarantine/{entry.id}/replay")
    else:
        runtime = Runtime.open(Settings.from_env(data_dir))
        try:
            status, body = 200, asyncio.run(replay_entry(runtime, entry.id))
        except ReplayError as exc:
            status, body = exc.status, {"error": exc.message}
        finally:
            runtime.close()
    print(json.dumps(body))
    if status != 200:
        return 1
    return 0 if body.get("accepted") or body.get("duplicates") else 1
