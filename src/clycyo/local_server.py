"""How tools on the same machine find and talk to the server that owns a data folder.

DuckDB lets one process open the event store, so while `clycyo serve` runs, commands such as
`quarantine replay` or `query` must go through it. The server leaves `server.json` (its URL and
process id) and `admin.token` (readable by the folder's owner only) in the data folder while it
runs; a tool that can read the token may use the server's admin endpoints.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_INFO = "server.json"
_TOKEN = "admin.token"


@dataclass(frozen=True)
class LocalServer:
    url: str
    admin_token: str

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.admin_token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"error": raw.decode("utf-8", "replace")}


def announce(data_dir: Path, url: str) -> str:
    """Called by the server at start: returns the admin token it must accept."""
    token = "ca_" + secrets.token_urlsafe(32)
    token_path = data_dir / _TOKEN
    token_path.unlink(missing_ok=True)
    descriptor = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    (data_dir / _INFO).write_text(json.dumps({"url": url, "pid": os.getpid()}))
    return token


def withdraw(data_dir: Path) -> None:
    (data_dir / _INFO).unlink(missing_ok=True)
    (data_dir / _TOKEN).unlink(missing_ok=True)


def find(data_dir: Path) -> LocalServer | None:
    """The server running on `data_dir`, if one is (its process alive and its token readable)."""
    try:
        info = json.loads((data_dir / _INFO).read_text())
        token = (data_dir / _TOKEN).read_text().strip()
    except (OSError, ValueError):
        return None
    pid = int(info.get("pid", 0))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    url = str(info["url"])
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5):
            pass
    except urllib.error.HTTPError:
        pass  # it answers (degraded, perhaps): it is running and owns the folder
    except OSError:
        return None
    return LocalServer(url, token)
