"""`clycyo serve`: open the data folder, then serve HTTP until told to stop.

The runtime is opened (and the intake log replayed) before the socket is bound, so `/healthz`
answers 200 as soon as anything answers. SIGTERM and SIGINT stop accepting, wait for the last
group commit and load everything into the store before the process exits.
"""

from __future__ import annotations

import logging
import logging.config
import threading
import time
from collections.abc import Callable

import uvicorn

from clycyo import local_server, logs
from clycyo.app import build_app
from clycyo.runtime import Runtime, Settings

log = logging.getLogger(__name__)


def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    after_start: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped; `after_start` runs in a thread once the socket accepts requests."""
    logging.config.dictConfig(logs.config())
    runtime = Runtime.open(settings)
    runtime.admin_token = local_server.announce(settings.data_dir, f"http://{host}:{port}")
    app = build_app(runtime)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=logs.config(),
        timeout_graceful_shutdown=10,
        backlog=4096,
    )
    server = uvicorn.Server(config)
    if after_start is not None:
        _when_started(server, after_start)
    try:
        server.run()
    finally:
        local_server.withdraw(settings.data_dir)
        if runtime.accepting:
            runtime.close()


def _when_started(server: uvicorn.Server, action: Callable[[], None]) -> None:
    def wait_then_run() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        try:
            action()
        except Exception:
            log.exception("start-up action failed")

    threading.Thread(target=wait_then_run, name="after-start", daemon=True).start()
