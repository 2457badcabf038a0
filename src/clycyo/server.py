"""`clycyo serve`: open the data folder, then serve HTTP until told to stop.

The runtime is opened (and the store writer starts loading what the intake logs hold) before
anything listens, so `/healthz` answers 200 as soon as anything answers. SIGTERM and SIGINT stop
accepting, wait for the last group commit, load everything into the store and remove
`server.json` and `admin.token` before the process exits — by the same signal, so a service
manager sees how it ended.

With `workers=0` one process does everything. With `workers=N`, N collector processes share the
public port (see `workers/collector.py`) and this process — the core — owns the event store,
loads the collectors' intake logs and answers everything else on a Unix socket in the data folder.
"""

from __future__ import annotations

import errno
import logging
import logging.config
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from clycyo import gc_tuning, local_server, logs
from clycyo.app import build_app
from clycyo.http_protocol import with_client_timeout
from clycyo.mail import scheduler
from clycyo.runtime import Runtime, Settings
from clycyo.store.intake_reader import collector_log
from clycyo.workers.supervisor import Supervisor

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The public address cannot be listened on: the port is in use, not allowed, or the host
    unknown (the message says which)."""


def public_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets bound (not yet listening) to every address of `host`, as asyncio's
    `create_server` binds them; raises `ListenError`.

    Bound before the data folder is opened, so that a port in use is said at once and nothing is
    opened (nor left running) for nothing; listening starts only once the runtime is ready, so a
    connection is refused, not kept waiting, until `/healthz` can answer 200.
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenError(f"--host {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(infos))
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRNOTAVAIL or len(addresses) == 1:
                    raise
                sockets.pop().close()  # that family is not enabled here (as asyncio assumes)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"port {port} on {host} is in use") from None
        raise ListenError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
    if not sockets:
        raise ListenError(f"cannot listen on {host} port {port}: no address to listen on")
    return sockets


def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    workers: int = 0,
    after_start: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve until stopped; `after_start` runs in a thread once the public port answers, and
    `on_stop` when the server is told to stop, before it stops answering (in the signal
    handler: it must wait for nothing).

    `sockets` are `public_sockets(host, port)` when the caller bound them already; with
    `workers` the collectors bind the port themselves, and these only showed it is free."""
    if sockets is None:
        sockets = public_sockets(host, port)
    if workers > 0:
        for sock in sockets:
            sock.close()
    logging.config.dictConfig(logs.config())
    runtime = Runtime.open(settings, collectors=workers)
    scheduler.start_for(runtime)  # email reports, spike notices
    public_url = f"http://{host}:{port}"
    runtime.admin_token = local_server.announce(settings.data_dir, public_url)
    supervisor = None
    options: dict[str, object] = {"host": host, "port": port}
    if workers > 0:
        core_socket = _core_socket(settings.data_dir)
        supervisor = Supervisor(
            count=workers,
            data_dir=settings.data_dir,
            host=host,
            port=port,
            core_socket=core_socket,
            extra_args=_collector_args(settings),
            loaded_seq=lambda index: runtime.writer.reader_loaded.get(
                collector_log(settings.data_dir, index).name, 0
            ),
        )
        options = {"uds": str(core_socket)}
    config = uvicorn.Config(
        build_app(runtime),
        **options,  # type: ignore[arg-type]
        loop="uvloop",
        http=with_client_timeout(settings.client_timeout_s),
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # `--trusted-proxies` decides whose X-Forwarded-For to believe
        server_header=False,
        log_config=logs.config(),
        timeout_graceful_shutdown=10,
        backlog=4096,
    )
    server = _Server(config)
    if on_stop is not None:
        server.on_exit.append(on_stop)
    if supervisor is not None:
        # Collectors stop first (finishing what they hold), then the core loads the rest.
        server.on_exit.append(supervisor.stopping)
        runtime.before_close.append(supervisor.stop)
    gc_tuning.tune()
    processes = f", {workers} collector processes" if workers else ""
    started = (
        f"listening on {public_url} (data folder {settings.data_dir},"
        f" {runtime.store.dialect} store{processes})"
    )
    serving = threading.Event()
    serving.set()
    _when_started(
        server,
        serving,
        public_url=public_url,
        supervisor=supervisor,
        action=after_start,
        message=started,
    )
    stop_signals = _StopSignals(server)
    try:
        server.run(sockets=None if workers > 0 else sockets)
    finally:
        serving.clear()
        if supervisor is not None:
            supervisor.stop()
        local_server.withdraw(settings.data_dir, runtime.admin_token)
        if runtime.accepting:
            runtime.close()  # the application's shutdown closes it, unless it never started
        left = runtime.writer.lag_records
        log.info(
            "stopped: %s",
            f"{left} intake records left to load at the next start"
            if left
            else "every acknowledged event is in the store",
        )
    stop_signals.end()


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.on_exit: list[Callable[[], None]] = []

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        for action in self.on_exit:
            action()
        super().handle_exit(sig, frame)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _StopSignals:
    """SIGINT and SIGTERM handled around uvicorn's own handling of them.

    After a graceful stop uvicorn raises the signal again with the handlers it found in place;
    with Python's defaults that ends the process (SIGTERM) or unwinds it (SIGINT) before this
    module's clean-up runs. These handlers only note the signal (and ask the server to stop, for
    one that arrives before uvicorn listens), so the clean-up runs; `end` then ends the process
    by that signal, as it would have ended without handlers (exit status 128+N).
    """

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server
        self.received: list[int] = []
        self.previous: dict[signal.Signals, Any] = {}
        # Signal handlers belong to the main thread (as in uvicorn, which skips them elsewhere).
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self._note) for sig in _STOP_SIGNALS}

    def _note(self, sig: int, frame: FrameType | None) -> None:
        if sig not in self.received:
            self.received.append(sig)
        if not self.server.should_exit:
            self.server.handle_exit(sig, frame)

    def end(self) -> None:
        for stop, handler in self.previous.items():
            signal.signal(stop, handler)
        for sig in self.received:
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)


def _core_socket(data_dir: Path) -> Path:
    run = data_dir / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    path = run / "core.sock"
    path.unlink(missing_ok=True)
    return path


def _collector_args(settings: Settings) -> list[str]:
    args = ["--trusted-proxies", str(settings.trusted_proxies)]
    if settings.geoip_path is not None:
        args += ["--geoip", str(settings.geoip_path)]
    return args


def _when_started(
    server: uvicorn.Server,
    serving: threading.Event,
    *,
    public_url: str,
    supervisor: Supervisor | None,
    action: Callable[[], None] | None,
    message: str,
) -> None:
    def wait_then_run() -> None:
        while not server.started:
            # A server that stops before it starts (its start-up failed) ends this wait too.
            if server.should_exit or not serving.is_set():
                return
            time.sleep(0.05)
        if supervisor is not None:
            supervisor.start()
            if not _wait_healthy(public_url, server):
                return
        log.info("%s", message)
        if action is None:
            return
        try:
            action()
        except Exception:
            log.exception("start-up action failed")

    threading.Thread(target=wait_then_run, name="after-start", daemon=True).start()


def _wait_healthy(url: str, server: uvicorn.Server, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not server.should_exit:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False
