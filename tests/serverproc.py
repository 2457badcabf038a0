"""A real `clycyo serve` in a subprocess on 127.0.0.1, for tests that go over HTTP."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clycyo.config.store import ConfigStore

_site_numbers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_a_plain_user() -> list[str]:
    """A command prefix that runs a command without the right to ignore file permissions, so
    that their bits bind it as they bind a user other than root (the tests may run as root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop its file access rights")
    dropped = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={dropped}", f"--bounding-set={dropped}"]


def run_clycyo(
    *args: str,
    data: Path,
    stdin: str | None = None,
    timeout_s: float = 60,
    prefix: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess (as a user would), whatever its exit status; `prefix` is a
    command that runs it (`as_a_plain_user()`), `env` variables set for it besides this
    process's."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "clycyo", *args, "--data", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout_s,
        env={**os.environ, **env} if env else None,
    )


def clycyo(*args: str, data: Path, stdin: str | None = None) -> str:
    """Run the CLI in a subprocess and return its standard output; it must succeed."""
    result = run_clycyo(*args, data=data, stdin=stdin)
    result.check_returncode()
    return result.stdout


@dataclass
class Site:
    """A site on a running server, with its keys."""

    server: ServerProcess
    site: str
    public_key: str
    secret_key: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def post(
        self, path: str, body: Any, *, secret: bool = False, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return self.server.post(
            path, body, bearer=self.secret_key if secret else None, headers=headers
        )

    def events(self, **params: str) -> list[dict[str, Any]]:
        """Stored events of this site, newest first, read through the events API."""
        query = "&".join(f"{k}={v}" for k, v in {"site": self.site, **params}.items())
        status, body = self.server.get(f"/api/v1/events?{query}", bearer=self.secret_key)
        assert status == 200, body
        return list(body["events"])


class ServerProcess:
    def __init__(
        self, data_dir: Path, *, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ):
        self.data_dir = data_dir
        self.port = free_port()
        self.extra_args = extra_args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        command = [sys.executable, "-m", "clycyo", "serve", "--data", str(self.data_dir)]
        command += ["--port", str(self.port), *self.extra_args]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                status, _ = self.get("/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as an operator's service manager would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)

    def kill(self) -> None:
        """`kill -9`: no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def add_site(self, domain: str | None = None, **settings: Any) -> Site:
        """Create a site the way `clycyo site add` does (its CLI is tested on its own)."""
        domain = domain or f"t{next(_site_numbers)}-{os.getpid()}.localhost"
        config = ConfigStore(self.data_dir / "config.sqlite")
        created = config.add_site(domain, **settings)
        return Site(self, created.site.domain, created.site.public_key, created.secret_key)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status = exc.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def get(self, path: str, *, bearer: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        body: Any,
        *,
        bearer: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if bearer:
            all_headers["Authorization"] = f"Bearer {bearer}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.request("POST", path, data, all_headers)
