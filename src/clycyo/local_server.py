"""How tools on the same machine find and talk to the server that owns a data folder.

DuckDB lets one process open the event store, so while `clycyo serve` runs, commands such as
`quarantine replay` or `query` must go through it. The server leaves `server.json` (its URL and
process id) and `admin.token` (readable by the folder's owner only) in the data folder while it
runs; a tool that can read the token may use the server's admin endpoints (a query too).
A graceful stop removes both files; after a `kill -9` they stay, so readers trust them only while
the process they name is alive and the URL answers.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

_INFO = "server.json"
_TOKEN = "admin.token"
# How long a command waits for a running server's answer, unless its work lasts as long as the
# data is large (a backup, a site's removal: no deadline). `CLYCYO_COMMAND_TIMEOUT` changes it.
COMMAND_TIMEOUT_S = 60.0
_COMMAND_TIMEOUT = "CLYCYO_COMMAND_TIMEOUT"
_LONGEST_S = 86_400.0
# Seconds, "command" (the commands' deadline) or None (no deadline).
Deadline = float | Literal["command"] | None


class Unreachable(OSError):
    """No answer from a server's address (nothing listens, the host is unknown, it timed out)."""


@dataclass(frozen=True)
class LocalServer:
    url: str
    admin_token: str

    def call(
        self, method: str, path: str, body: Any = None, timeout_s: Deadline = "command"
    ) -> tuple[int, Any]:
        return call_json(method, self.url + path, self.admin_token, body, timeout_s)


def command_timeout_s() -> float:
    """`COMMAND_TIMEOUT_S`, or the seconds `CLYCYO_COMMAND_TIMEOUT` gives (0.5 to a day)."""
    given = os.environ.get(_COMMAND_TIMEOUT, "").strip()
    if not given:
        return COMMAND_TIMEOUT_S
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not 0.5 <= seconds <= _LONGEST_S:
        raise Unreachable(
            f"{_COMMAND_TIMEOUT}: {given!r} is not a number of seconds (0.5 to 86400)"
        )
    return seconds


def call_json(
    method: str, url: str, token: str, body: Any = None, timeout_s: Deadline = "command"
) -> tuple[int, Any]:
    """A JSON request with a bearer token: (status, decoded answer), error answers included;
    raises `Unreachable` when nothing answers within `timeout_s` ("command": the commands'
    deadline, `command_timeout_s`; None: however long it takes, for work that lasts as long as
    the data is large)."""
    seconds = command_timeout_s() if timeout_s == "command" else timeout_s
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, {"error": raw.decode("utf-8", "replace")}
    except urllib.error.URLError as exc:
        raise Unreachable(f"cannot reach {url}: {exc.reason}") from None
    except (TimeoutError, ConnectionError) as exc:
        raise Unreachable(f"no answer from {url}: {exc}") from None


def announce(data_dir: Path, url: str) -> str:
    """Called by the server at start: returns the admin token it must accept."""
    token = "ca_" + secrets.token_urlsafe(32)
    token_path = data_dir / _TOKEN
    token_path.unlink(missing_ok=True)
    descriptor = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    # Written whole under another name, then renamed: a reader never sees half of it. mkstemp
    # makes the file 0600, whatever the umask.
    descriptor, partial = tempfile.mkstemp(dir=data_dir, prefix=f".{_INFO}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps({"url": url, "pid": os.getpid()}))
        os.replace(partial, data_dir / _INFO)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return token


def withdraw(data_dir: Path, token: str) -> None:
    """Called by the server as it stops: remove its files, unless a newer server replaced them."""
    info = _announcement(data_dir)
    if info is not None and info.get("pid") == os.getpid():
        (data_dir / _INFO).unlink(missing_ok=True)
    try:
        current = (data_dir / _TOKEN).read_text().strip()
    except OSError:
        return
    if current == token:
        (data_dir / _TOKEN).unlink(missing_ok=True)


def _announcement(data_dir: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((data_dir / _INFO).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, as another user
    return True


def token_unreadable(data_dir: Path) -> bool:
    """True when a live server announced itself on `data_dir` but its token cannot be read."""
    info = _announcement(data_dir)
    if info is None or not _alive(int(info.get("pid", 0))):
        return False
    try:
        (data_dir / _TOKEN).read_text()
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def find(data_dir: Path) -> LocalServer | None:
    """The server running on `data_dir`, if one is (its process alive and its token readable)."""
    info = _announcement(data_dir)
    if info is None or not _alive(int(info.get("pid", 0))):
        return None  # none announced, or a stale file left by a killed server
    try:
        token = (data_dir / _TOKEN).read_text().strip()
    except OSError:
        return None
    url = str(info.get("url", ""))
    if not url.startswith("http"):
        return None
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5):
            pass
    except urllib.error.HTTPError:
        pass  # it answers (degraded, perhaps): it is running and owns the folder
    except OSError:
        return None
    return LocalServer(url, token)
