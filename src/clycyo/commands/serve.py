"""`clycyo serve`: check what can be checked, then run the server (`server.py`).

A wrong option or setting is refused (status 2) and a port in use is said (status 1) before the
data folder is created or opened; a ClickHouse server that cannot be reached is one line too.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from clycyo import data_folder
from clycyo.commands.handlers import fail
from clycyo.settings import Settings, env_count


def run(args: argparse.Namespace, data_dir: Path) -> int:
    from clycyo.server import ListenError, public_sockets, serve
    from clycyo.store.clickhouse.transport import TransportError
    from clycyo.store.open import LOADER_FILE, check_url, loads_into_clickhouse

    try:
        settings = Settings.from_env(
            data_dir,
            storage_url=args.storage,
            geoip_path=Path(args.geoip) if args.geoip else None,
            trusted_proxies=args.trusted_proxies,
            memory_limit=args.memory_limit,
        )
        check_url(settings.storage_url)
        if settings.storage_url is None and loads_into_clickhouse(settings.data_dir):
            # Served from DuckDB, its intake log would be loaded into the events.duckdb of
            # before the move, and the segments deleted that ClickHouse had yet to load.
            raise ValueError(
                f"{settings.data_dir} loads its events into ClickHouse (it has {LOADER_FILE}):"
                " start it with --storage and the URL of that ClickHouse"
            )
        _check_geoip(settings.geoip_path)
        workers = args.workers
        if workers is None:
            workers = env_count("CLYCYO_WORKERS") or 0
        live = _demo_live(args) if args.demo else 0.0
    except ValueError as exc:
        return fail(exc, 2)
    # Everything that can be checked without opening the folder is checked before it is created.
    try:
        sockets = public_sockets(args.host, args.port)
    except ListenError as exc:
        return fail(exc)
    try:
        data_folder.create(data_dir)
        demo = None
        if args.demo:
            from clycyo.demo.setup import prepare_demo

            demo = prepare_demo(settings.data_dir, args.host, args.port, live=live)
        serve(
            settings,
            args.host,
            args.port,
            workers=workers,
            after_start=demo.after_start if demo else None,
            on_stop=demo.stop if demo else None,
            sockets=sockets,
        )
    except TransportError as exc:
        return fail(exc)
    finally:
        for sock in sockets:
            sock.close()
    return 0


def _demo_live(args: argparse.Namespace) -> float:
    """The demo's live visits a minute: `--demo-live`, else `CLYCYO_DEMO_LIVE`, else 0.5."""
    from clycyo.demo.live import DEFAULT_VISITORS_PER_MINUTE, parse_rate

    text = args.demo_live or os.environ.get("CLYCYO_DEMO_LIVE", "").strip()
    return parse_rate(text) if text else DEFAULT_VISITORS_PER_MINUTE


def _check_geoip(path: Path | None) -> None:
    """Open the GeoIP database once, so a wrong path fails before the server starts."""
    if path is None:
        return
    from clycyo.pipeline.geo import open_city_reader

    try:
        open_city_reader(path).close()
    except OSError as exc:
        raise ValueError(f"--geoip (CLYCYO_GEOIP_DB) {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"--geoip (CLYCYO_GEOIP_DB) {exc}") from None
