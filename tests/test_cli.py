"""The command line, run as a user runs it: in a subprocess, with and without a server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, clycyo, free_port


def test_site_add_json_works_while_a_server_runs(own_server: ServerProcess) -> None:
    own_server.start()
    created = json.loads(clycyo("site", "add", "live.example", "--json", data=own_server.data_dir))
    assert created["site"] == "live.example"
    assert created["public_key"].startswith("pk_")
    assert created["secret_key"].startswith("sk_")
    # The running server honours the new keys at once.
    status, answer = own_server.post("/api/collect", {"name": "x"}, bearer=created["secret_key"])
    assert (status, answer["accepted"]) == (200, 1)
    listing = json.loads(clycyo("site", "list", "--json", data=own_server.data_dir))
    assert [s["site"] for s in listing] == ["live.example"]
    # The secret key is stored only as a hash.
    config = (own_server.data_dir / "config.sqlite").read_bytes()
    assert created["secret_key"].encode() not in config


def test_a_second_server_on_the_same_folder_stops_with_a_clear_error(
    own_server: ServerProcess,
) -> None:
    own_server.start()
    command = ["serve", "--data", str(own_server.data_dir), "--port", str(free_port())]
    second = subprocess.run(
        [sys.executable, "-m", "clycyo", *command],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "events.duckdb is held by another process" in second.stderr
    assert "Is a server already running on this data folder?" in second.stderr
    assert "Traceback" not in second.stderr
    assert own_server.get("/healthz")[0] == 200  # the first one goes on


def test_site_add_refuses_a_duplicate_and_nonsense(tmp_path: Path) -> None:
    clycyo("site", "add", "dup.example", data=tmp_path)
    for domain in ("dup.example", "not a domain"):
        result = subprocess.run(
            [sys.executable, "-m", "clycyo", "site", "add", domain, "--data", str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1
        assert "clycyo:" in result.stderr


def test_user_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    out = clycyo(
        "user", "add", "ann@example.com", "--password-stdin", data=tmp_path, stdin="s3cret-pass\n"
    )
    assert "ann@example.com" in out
    from clycyo.config.passwords import verify_password
    from clycyo.config.store import ConfigStore

    stored = ConfigStore(tmp_path / "config.sqlite").user_by_email("ann@example.com")
    assert stored is not None
    assert verify_password("s3cret-pass", stored[1])
    assert not verify_password("wrong", stored[1])
    assert b"s3cret-pass" not in (tmp_path / "config.sqlite").read_bytes()


@pytest.mark.parametrize("running", [True, False])
def test_quarantine_list_show_replay(own_server: ServerProcess, running: bool) -> None:
    own_server.start()
    site = own_server.add_site("q.example")
    bad = {"name": "checkout", "timestamp": "not a time", "context": {"ip": "192.0.2.55"}}
    site.post("/api/collect", {"batch": [bad]}, secret=True)
    own_server.get(f"/api/v1/events?site={site.site}")  # waits until the writer has loaded it
    listing = json.loads(clycyo("quarantine", "list", "--json", data=own_server.data_dir))
    [entry] = listing
    assert entry["error"].startswith("timestamp:")
    assert "ip" not in entry["payload"]["context"]
    shown = json.loads(clycyo("quarantine", "show", str(entry["id"]), data=own_server.data_dir))
    assert shown["payload"]["name"] == "checkout"
    if not running:
        own_server.stop()
    # Replaying the same payload fails again (it is still invalid) and says why.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "clycyo",
            "quarantine",
            "replay",
            str(entry["id"]),
            "--data",
            str(own_server.data_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "timestamp" in result.stdout


def _commands() -> list[str]:
    """Every command `clycyo --help` lists, with the subcommands of `site` and `user`."""
    import argparse

    from clycyo.cli import build_parser

    def names(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return [(name, sub) for a in actions for name, sub in a.choices.items()]

    found = []
    for name, sub in names(build_parser()):
        nested = names(sub)
        found += [f"{name} {inner}" for inner, _ in nested] if nested else [name]
    return found


def test_the_readme_lists_every_command() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    listing = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    commands = _commands()
    assert {"serve", "site add", "site set", "query", "migrate", "demo"} <= set(commands)
    missing = [c for c in commands if f"clycyo {c}" not in listing]
    assert missing == [], "list these commands in README.md's command line section"
    assert "--workers" in listing
    for page in ("docs/demo.md", "docs/scaling.md"):
        assert f"]({page}" in listing and (root / page).exists()
