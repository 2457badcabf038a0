"""`clycyo serve` refuses what it cannot run with — a port in use, a wrong setting — with one
`clycyo: …` line and a prompt non-zero exit, before it creates or opens anything."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.serverproc import free_port, run_clycyo


def _serve(
    *args: str, data: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_clycyo("serve", *args, data=data, env=env)


def test_a_port_in_use_is_said_and_the_server_exits_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("0", "2"):
            started = time.monotonic()
            result = _serve("--port", str(port), "--workers", workers, data=tmp_path / "data")
            assert time.monotonic() - started < 20
            assert result.returncode == 1, result.stderr
            assert result.stderr == f"clycyo: port {port} on 127.0.0.1 is in use\n"
            assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--storage", "foo://x"), {}, "clycyo: unsupported storage URL 'foo://x'"),
        (("--storage", "clickhouse://u:p@:8123/db"), {}, "the server's host is missing"),
        (("--geoip", "/nonexistent.mmdb"), {}, "--geoip (CLYCYO_GEOIP_DB) /nonexistent.mmdb:"),
        ((), {"CLYCYO_WORKERS": "abc"}, "clycyo: CLYCYO_WORKERS='abc': expected a whole number"),
        ((), {"CLYCYO_TRUSTED_PROXIES": "x"}, "clycyo: CLYCYO_TRUSTED_PROXIES='x': expected"),
        (("--port", "99999"), {}, "argument --port: 99999 is not a port: expected 1 to 65535"),
        (("--port", "0"), {}, "argument --port: 0 is not a port"),
        (("--workers", "-1"), {}, "argument --workers: -1: expected 0 or more"),
        (("--trusted-proxies", "-2"), {}, "argument --trusted-proxies: -2: expected 0 or more"),
    ],
)
def test_a_wrong_setting_is_refused_before_anything_is_created(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = _serve("--port", str(free_port()), *args, data=tmp_path / "data", env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_geoip_that_is_not_a_maxmind_file_is_refused(tmp_path: Path) -> None:
    not_a_database = tmp_path / "cities.mmdb"
    not_a_database.write_text("hello")
    result = _serve("--geoip", str(not_a_database), data=tmp_path / "data")
    assert result.returncode == 2
    assert "not a MaxMind DB file" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_clickhouse_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("clickhouse_connect")
    url = f"clickhouse://u:secret@127.0.0.1:{free_port()}/db"
    result = _serve("--port", str(free_port()), "--storage", url, data=tmp_path / "data")
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("clycyo: cannot connect to ClickHouse at 127.0.0.1:")
    assert "Connection refused" in last
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_a_folder_moved_to_clickhouse_is_not_served_from_duckdb(tmp_path: Path) -> None:
    """Without --storage the folder would be served from the events.duckdb of before the move:
    new events would go there, with what the intake log holds that ClickHouse has not loaded."""
    from clycyo.store.open import LOADER_FILE

    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / LOADER_FILE).write_text("host-1234abcd\n")  # what serve --storage or migrate leaves
    result = _serve("--port", str(free_port()), data=data)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"clycyo: {data} loads its events into ClickHouse (it has {LOADER_FILE}):"
        " start it with --storage and the URL of that ClickHouse\n"
    )
    assert sorted(p.name for p in data.iterdir()) == [LOADER_FILE]
