"""A collector process: the collect endpoints on the public port, everything else to the core.

`clycyo serve --workers N` runs N of these beside the core process. Each reads requests, runs
the pipeline and makes accepted events durable in an intake log of its own
(`DATA/intake/w<N>/`), so the work that costs CPU per event is spread over processes and cores
instead of sharing one interpreter's lock with the store writer. The core process, which owns
the event store, loads these logs (`store/intake_reader.py`). Requests for anything else — the
APIs, the dashboard, the tracker script — are handed to the core over its Unix socket.

The process stops when the core does (the kernel tells it: PR_SET_PDEATHSIG), so a `kill -9` of
the core leaves no collector behind; what the collectors acknowledged is in their logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import logging.config
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from clycyo import gc_tuning, logs
from clycyo.collect import http
from clycyo.collect.ingest import Ingest
from clycyo.collect.ratelimit import RateLimiter
from clycyo.collect.routes import collect_routes
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import ConfigStore
from clycyo.http_protocol import with_client_timeout
from clycyo.pipeline.context import Context
from clycyo.pipeline.salts import SaltRing
from clycyo.settings import Settings, config_path
from clycyo.store.intake import IntakeLog
from clycyo.store.intake_reader import ROTATE_REQUEST, collector_log
from clycyo.workers import forgotten_orders
from clycyo.workers.proxy import forward

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def stats_path(data_dir: Path, index: int) -> Path:
    return data_dir / "run" / f"collector-{index}.json"


@dataclass
class CollectorRuntime:
    """What a collector process holds: configuration, the pipeline context and its intake log."""

    settings: Settings
    index: int
    config: ConfigStore
    directory: SiteDirectory
    ctx: Context
    intake: IntakeLog
    ingest: Ingest
    limiter: RateLimiter
    started_at: float = field(default_factory=time.time)

    @classmethod
    def open(cls, settings: Settings, index: int) -> CollectorRuntime:
        config = ConfigStore(config_path(settings.data_dir))
        intake = IntakeLog(
            collector_log(settings.data_dir, index), max_backlog_bytes=settings.max_backlog_bytes
        )
        city_reader = None
        if settings.geoip_path is not None:
            from clycyo.pipeline.geo import open_city_reader

            city_reader = open_city_reader(settings.geoip_path)
        directory = SiteDirectory(config)
        ctx = Context(
            salts=SaltRing(config.salts(), on_new=config.save_salt),
            city_reader=city_reader,
            retention_days=directory.retention_days,
            shields=directory.shields,
        )
        return cls(
            settings=settings,
            index=index,
            config=config,
            directory=directory,
            ctx=ctx,
            intake=intake,
            ingest=Ingest(ctx, intake),
            limiter=RateLimiter(settings.rate_limit_source_per_s, settings.rate_limit_key_per_s),
        )

    def tick(self) -> None:
        self.directory.refresh()
        self.ctx.salts.replace(self.config.salts() or {})
        self.ctx.salts.for_time(time.time_ns() // 1000)
        self.intake.clear_fault()
        request = self.intake.folder / ROTATE_REQUEST
        if request.exists():
            self.intake.rotate_now()
            request.unlink(missing_ok=True)
        forgotten_orders.take(self.intake.folder, self.ctx.orders.forget)
        # The core deletes the segments it has loaded: whatever lies below the oldest segment
        # left is in the store, which is what bounds this log's backlog.
        oldest = self.intake.oldest_seq()
        if oldest is not None:
            self.intake.loaded(oldest - 1)
        self._write_stats()

    def _write_stats(self) -> None:
        """Counters for the core's `/metrics` and for tools (a small JSON file per collector)."""
        counters = self.ingest.counters
        stats = {
            "index": self.index,
            "pid": os.getpid(),
            "accepted": counters.accepted,
            "rejected": dict(counters.rejected),
            "dropped": {str(k): v for k, v in counters.dropped.items()},
            "unavailable": counters.unavailable,
            "intake_unloaded_bytes": self.intake.unloaded_bytes,
            "intake_fault": self.intake.fault,
            "written_at": time.time(),
        }
        path = stats_path(self.settings.data_dir, self.index)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(stats))
        temporary.replace(path)

    def health(self) -> dict[str, object]:
        intake = self.intake
        if intake.fault is not None:
            status = "unavailable"
        elif intake.full:
            status = "store_behind"
        else:
            status = "ok"
        accepting = status == "ok"
        return {
            "status": status,
            "accepting": accepting,
            "intake_fault": self.intake.fault,
            "collector": self.index,
        }


def build_collector_app(runtime: CollectorRuntime, core_socket: str) -> Any:
    routes = collect_routes(runtime.settings, runtime.ingest, runtime.directory, runtime.limiter)
    core_timeout_s = runtime.settings.core_timeout_s

    async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # The core's report covers the store and every log; this process adds its own log.
        report = runtime.health()
        if not report["accepting"]:
            await http.send_json(send, 503, report)
            return
        await forward(scope, receive, send, core_socket, core_timeout_s)

    routes["/healthz"] = health

    async def maintain() -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                runtime.tick()
            except Exception:
                log.exception("collector maintenance step failed")

    async def lifespan(receive: Any, send: Any) -> None:
        task: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                runtime.tick()
                task = asyncio.create_task(maintain())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await asyncio.to_thread(runtime.intake.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            handler = routes.get(path)
            if handler is not None:
                await handler(scope, receive, send)
                return
            await forward(scope, receive, send, core_socket, core_timeout_s)
            return
        if kind == "lifespan":
            await lifespan(receive, send)

    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket on the public port that several processes share (the kernel spreads connections
    over them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clycyo-collector")
    parser.add_argument("--data", required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--core-socket", required=True)
    # The last record of this collector's log in the store: new records are numbered after it.
    parser.add_argument("--loaded-seq", type=int, default=0)
    parser.add_argument("--trusted-proxies", type=int, default=None)
    parser.add_argument("--geoip")
    args = parser.parse_args(argv)
    _die_with_parent()
    logging.config.dictConfig(logs.config())
    settings = Settings.from_env(
        Path(args.data),
        trusted_proxies=args.trusted_proxies,
        geoip_path=Path(args.geoip) if args.geoip else None,
    )
    runtime = CollectorRuntime.open(settings, args.index)
    runtime.intake.resume(args.loaded_seq)
    config = uvicorn.Config(
        build_collector_app(runtime, args.core_socket),
        loop="uvloop",
        http=with_client_timeout(settings.client_timeout_s),
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=logs.config(),
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    sock = listening_socket(args.host, args.port)
    gc_tuning.tune()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
