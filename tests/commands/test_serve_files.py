"""`server.json` and `admin.token` live as long as the server: a graceful stop removes them, a
`kill -9` leaves them behind, and readers then see by the process id that nobody serves."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from clycyo import local_server
from tests.serverproc import ServerProcess, clycyo

FILES = ("server.json", "admin.token")


def _present(data_dir: Path) -> list[str]:
    return [name for name in FILES if (data_dir / name).exists()]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_graceful_stop_removes_the_files(own_server: ServerProcess, stop: signal.Signals) -> None:
    server = own_server.start()
    assert server.proc is not None
    assert _present(server.data_dir) == list(FILES)
    info = json.loads((server.data_dir / "server.json").read_text())
    assert info == {"url": server.url, "pid": server.proc.pid}
    for name in FILES:  # the folder's owner's only
        assert stat.S_IMODE((server.data_dir / name).stat().st_mode) == 0o600
    assert local_server.find(server.data_dir) is not None
    server.proc.send_signal(stop)
    # The process still ends by the signal, as a service manager expects of it.
    assert server.proc.wait(60) == -stop
    assert _present(server.data_dir) == []
    assert local_server.find(server.data_dir) is None


def test_after_kill_9_the_files_stay_and_are_known_stale(own_server: ServerProcess) -> None:
    server = own_server.start()
    site = server.add_site("stale.example")
    server.kill()
    assert _present(server.data_dir) == list(FILES)
    assert local_server.find(server.data_dir) is None
    assert not local_server.token_unreadable(server.data_dir)
    # Commands open the folder themselves instead of asking a server that is gone.
    table = clycyo("query", "--site", site.site, "--metrics", "visitors", data=server.data_dir)
    assert table.splitlines()[-1].strip() == "0"
    # A new server takes the files over, with its own process id and token.
    old_token = (server.data_dir / "admin.token").read_text()
    server.start()
    assert server.proc is not None
    info = json.loads((server.data_dir / "server.json").read_text())
    assert info["pid"] == server.proc.pid
    assert (server.data_dir / "admin.token").read_text() != old_token
    server.stop()
    assert _present(server.data_dir) == []


def test_a_stopping_server_leaves_a_newer_servers_files(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "server.json").write_text(
            json.dumps({"url": "http://127.0.0.1:9", "pid": sleeper.pid})
        )
        (tmp_path / "admin.token").write_text("ca_newer")
        local_server.withdraw(tmp_path, "ca_mine")
        assert _present(tmp_path) == list(FILES)
        # Its own files (its process id, its token) it removes.
        (tmp_path / "server.json").write_text(
            json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid()})
        )
        (tmp_path / "admin.token").write_text("ca_mine")
        local_server.withdraw(tmp_path, "ca_mine")
        assert _present(tmp_path) == []
    finally:
        sleeper.kill()
        sleeper.wait()
