"""The command line, run as a user runs it: in a subprocess, with and without a server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.serverproc import ServerProcess, Site, as_a_plain_user, clycyo, free_port, run_clycyo


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
    second = run_clycyo("serve", "--port", str(free_port()), data=own_server.data_dir)
    assert second.returncode == 1
    assert "events.duckdb is held by another process" in second.stderr
    assert "Is a server already running on this data folder?" in second.stderr
    assert "Traceback" not in second.stderr
    assert own_server.get("/healthz")[0] == 200  # the first one goes on


def test_site_add_refuses_a_duplicate_and_nonsense(tmp_path: Path) -> None:
    clycyo("site", "add", "dup.example", data=tmp_path)
    for domain in ("dup.example", "not a domain", "shop\r\nbcc.example", "shop\u2028x.example"):
        result = run_clycyo("site", "add", domain, data=tmp_path)
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


@pytest.mark.parametrize(
    ("running", "single", "legacy"),
    [
        (True, False, False),
        (False, False, False),
        (True, True, False),
        (True, True, True),
        (False, True, True),
    ],
)
def test_quarantine_list_show_replay(
    own_server: ServerProcess, running: bool, single: bool, legacy: bool
) -> None:
    """`single`: the event, refused by the pipeline rather than by decoding, was the whole
    body, not in a batch; its replay is the same event, so a failed one counts on its entry.
    `legacy`: the entry was kept in the shape of earlier versions, with the envelope's empty
    `batch` field; its replay counts on it too."""
    own_server.start()
    site = own_server.add_site("q.example")
    bad = {"name": "checkout", "timestamp": "not a time", "context": {"ip": "192.0.2.55"}}
    field = "timestamp"
    if single:
        bad = {"type": "event", "props": {"plan": "pro"}, "context": {"ip": "192.0.2.55"}}
        field = "name"
    site.post("/api/collect", bad if single else {"batch": [bad]}, secret=True)
    own_server.get(f"/api/v1/events?site={site.site}")  # waits until the writer has loaded it
    listing = json.loads(clycyo("quarantine", "list", "--json", data=own_server.data_dir))
    [entry] = listing
    assert entry["error"].startswith(f"{field}:")
    assert "ip" not in entry["payload"]["context"]
    shown = json.loads(clycyo("quarantine", "show", str(entry["id"]), data=own_server.data_dir))
    assert shown["payload"]["name"] == bad.get("name")
    if legacy:
        # The envelope's fields as earlier versions kept them: the event's, then an empty batch.
        kept = msgspec.json.encode({**entry["payload"], "batch": None}).decode()
        db = sqlite3.connect(own_server.data_dir / "quarantine.sqlite")
        with contextlib.closing(db), db:
            db.execute("UPDATE quarantine SET payload = ? WHERE id = ?", [kept, entry["id"]])
    if not running:
        own_server.stop()
    # Replaying the same payload fails again (it is still invalid) and says why; the id may
    # come before or after the options.
    for attempt in (2, 3):
        order = ["replay", str(entry["id"]), "--data", str(own_server.data_dir)]
        if attempt == 3:
            order = ["replay", "--data", str(own_server.data_dir), str(entry["id"])]
        result = subprocess.run(
            [sys.executable, "-m", "clycyo", "quarantine", *order],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1
        assert field in result.stdout
        # Still the one entry, not yet replayed, with one more attempt.
        deadline = time.monotonic() + 10
        while True:
            [again] = json.loads(clycyo("quarantine", "list", "--json", data=own_server.data_dir))
            if again["attempts"] == attempt or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (again["id"], again["attempts"], again["replayed_at"]) == (
            entry["id"],
            attempt,
            None,
        )
        assert again["last_rejected_at"] is not None
        assert "batch" not in again["payload"]


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


def _run(*args: str, stdin: str | None = None, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clycyo", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        **options,
    )


@pytest.mark.parametrize(
    "command",
    [
        ("site", "list"),
        ("site", "set", "a.example", "--currency", "EUR"),
        ("token", "list"),
        ("share", "list"),
        ("quarantine", "list"),
        ("backup", "DEST"),
        ("compact",),
        ("migrate", "--to", "chdb://TARGET"),
        ("query", "--site", "a.example"),
        ("export", "--site", "a.example", "--out", "OUT"),
    ],
)
def test_a_command_that_needs_a_data_folder_refuses_a_missing_one(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    typo = tmp_path / "typo"
    places = {"DEST": str(tmp_path / "copy"), "TARGET": str(tmp_path / "ch")}
    places["OUT"] = str(tmp_path / "out.parquet")
    result = _run(*(places.get(a, a) for a in command), "--data", str(typo))
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"clycyo: no data folder at {typo} (create one with clycyo site add or clycyo serve)\n"
    )
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command", [("site", "list"), ("site", "add", "a.example"), ("serve", "--port", "1")]
)
def test_a_data_folder_that_is_a_file_is_refused(tmp_path: Path, command: tuple[str, ...]) -> None:
    afile = tmp_path / "afile"
    afile.touch()
    result = _run(*command, "--data", str(afile))
    assert result.returncode == 1
    assert result.stderr == f"clycyo: {afile} is not a folder: --data names the data folder\n"


@pytest.mark.parametrize(
    "command",
    [
        ("site", "list"),
        ("site", "add", "b.example"),
        ("user", "add", "eve@example.com", "--password-stdin"),
        ("quarantine", "list"),
        ("token", "list"),
        ("export", "--site", "a.example", "--out", "OUT"),
        ("serve", "--port", "PORT"),
    ],
)
def test_a_data_folder_this_user_may_not_open_is_said_so(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "a.example", data=data)
    prefix = as_a_plain_user()
    if prefix:  # root: the folder is another user's
        os.chown(data, 65534, 65534)
        for child in data.iterdir():
            os.chown(child, 65534, 65534)
    os.chmod(data, 0o700 if prefix else 0o000)
    try:
        places = {"OUT": str(tmp_path / "out.csv"), "PORT": str(free_port())}
        result = run_clycyo(
            *(places.get(a, a) for a in command),
            data=data,
            stdin="a-good-password\n",
            prefix=prefix,
        )
    finally:
        os.chmod(data, 0o700)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"clycyo: cannot read and write the data folder {data} as this user: run the command"
        " as the folder's owner\n"
    )


def test_what_clycyo_writes_is_its_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _run("site", "add", "a.example", "--data", str(data), umask=0).returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    server = ServerProcess(data)
    umask = os.umask(0)  # the server inherits it
    try:
        server.start()
    finally:
        os.umask(umask)
    try:
        site = server.add_site("b.example")
        assert site.post("/api/collect", {"name": "e"}, secret=True)[0] == 200
        site.post("/api/collect", {"name": 7}, secret=True)  # one for the quarantine
        site.events()  # loaded
        copy = tmp_path / "copy"
        backup = _run("backup", str(copy), "--data", str(data), umask=0)
        assert backup.returncode == 0, backup.stderr
    finally:
        server.stop()
    offline = tmp_path / "offline"
    backup = _run("backup", str(offline), "--data", str(data), umask=0)
    assert backup.returncode == 0, backup.stderr
    for folder in (data, copy, offline):
        modes = _modes(folder)
        assert {name for name, mode in modes.items() if mode & 0o077} == set(), modes
        for name in ("config.sqlite", "events.duckdb", "quarantine.sqlite"):
            assert modes[name] == 0o600, (folder, name)


def _modes(folder: Path) -> dict[str, int]:
    modes = {}
    for path in [folder, *folder.rglob("*")]:
        # A SQLite log file goes when the last connection to it (this test's) closes.
        with contextlib.suppress(FileNotFoundError):
            modes[str(path.relative_to(folder))] = stat.S_IMODE(path.stat().st_mode)
    return modes


def test_user_add_without_a_terminal_asks_for_password_stdin(tmp_path: Path) -> None:
    result = _run(
        "user",
        "add",
        "eve@example.com",
        "--data",
        str(tmp_path),
        stdin="",
        start_new_session=True,  # no controlling terminal, as under a service manager
    )
    assert result.returncode == 1
    assert result.stderr == (
        "clycyo: no terminal to ask for the password: give it on standard input with"
        " --password-stdin\n"
    )


@pytest.mark.parametrize(
    ("options", "stdin", "message"),
    [
        ((), "", "no terminal to ask for the password"),
        (("--password-stdin",), "", "the password needs at least"),
    ],
)
def test_user_add_without_a_password_leaves_no_configuration_behind(
    tmp_path: Path, options: tuple[str, ...], stdin: str, message: str
) -> None:
    data = tmp_path / "data"
    result = _run(
        "user",
        "add",
        "eve@example.com",
        *options,
        "--data",
        str(data),
        stdin=stdin,
        start_new_session=True,  # no controlling terminal
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"clycyo: {message}"), result.stderr
    assert not (data / "config.sqlite").exists()


def test_serve_on_an_unreachable_clickhouse_says_so_in_one_line(tmp_path: Path) -> None:
    """Not with the HTTP driver's retries and warnings logged before it."""
    pytest.importorskip("clickhouse_connect")
    url = f"clickhouse://u:p@127.0.0.1:{free_port()}/db"
    result = _run("serve", "--port", str(free_port()), "--storage", url, "--data", str(tmp_path))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("clycyo: cannot connect to ClickHouse at 127.0.0.1:"), result.stderr


def test_ctrl_c_ends_a_command_quietly_with_status_130(tmp_path: Path) -> None:
    with socket.socket() as silent:  # a server that takes the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(30)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        command = [sys.executable, "-m", "clycyo", "query", "--site", "a.example"]
        waiting = subprocess.Popen(
            [*command, "--url", url, "--key", "ct_x"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        connection, _ = silent.accept()  # the command is waiting for its answer now
        with connection:
            waiting.send_signal(signal.SIGINT)
            out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130
    assert (out, err) == ("", "")


def test_a_reader_gone_early_ends_a_command_quietly(tmp_path: Path) -> None:
    clycyo("site", "add", "a.example", data=tmp_path)
    read, write = os.pipe()
    os.close(read)  # `| head` that has read all it wanted
    try:
        result = subprocess.run(
            [sys.executable, "-m", "clycyo", "site", "list", "--data", str(tmp_path)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.close(write)
    assert result.returncode == 141  # as a command ended by SIGPIPE shows in a shell
    assert result.stderr == ""


@pytest.mark.parametrize("kind", ["token", "share"])
def test_an_id_to_revoke_comes_before_or_after_the_options(tmp_path: Path, kind: str) -> None:
    clycyo("site", "add", "a.example", data=tmp_path)
    made = [
        json.loads(clycyo(kind, "add", "--site", "a.example", "--json", data=tmp_path))["id"]
        for _ in range(2)
    ]
    first = _run(kind, "revoke", "--data", str(tmp_path), str(made[0]))
    assert (first.returncode, first.stderr) == (0, "")
    second = _run(kind, "revoke", str(made[1]), "--data", str(tmp_path), "--json")
    assert json.loads(second.stdout) == {"revoked": made[1]}
    unknown = _run(kind, "revoke", "--data", str(tmp_path), "99")
    assert unknown.returncode == 1 and unknown.stderr.startswith("clycyo: no such live")


def test_help_version_and_an_empty_listing_speak_to_the_user(tmp_path: Path) -> None:
    top = _run("--help").stdout
    assert "self-hosted" in top and "parse arguments" not in top
    version = _run("--version")
    assert (version.returncode, version.stdout.split()[0]) == (0, "clycyo")
    serve = _run("serve", "--help").stdout
    for text in ("default 127.0.0.1", "default 8000", "DuckDB in the data folder"):
        assert text in " ".join(serve.split()), text
    demo = " ".join(_run("demo", "--help").stdout.split())
    for text in ("default http://127.0.0.1:8000", "default demo.clycyo.test", "default 7"):
        assert text in demo, text
    assert "default 50" in " ".join(_run("quarantine", "list", "--help").stdout.split())
    assert "default parquet" in " ".join(_run("export", "--help").stdout.split())
    assert "--url" not in _run("quarantine", "replay", "--help").stdout
    clycyo("user", "add", "ann@example.com", "--password-stdin", data=tmp_path, stdin="s3cret-pw\n")
    assert clycyo("site", "list", data=tmp_path) == "no sites\n"


def test_demo_says_why_a_server_does_not_take_its_events(server: Site) -> None:
    refused = _run("demo", "--url", server.url, "--secret-key", "sk_bad", "--days", "1")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"clycyo: {server.url}/api/collect answered 401: ")
    assert "Traceback" not in refused.stderr
    gone = _run("demo", "--url", f"http://127.0.0.1:{free_port()}", "--secret-key", "sk_x")
    assert gone.returncode == 1
    assert gone.stderr.startswith("clycyo: cannot reach http://127.0.0.1:")
    assert "Connection refused" in gone.stderr and "Traceback" not in gone.stderr
