"""`clycyo compact`: the event store rewritten without its deleted rows, in place, offline."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from tests.serverproc import ServerProcess, Site, clycyo, run_clycyo


def copies(folder: Path, text: str) -> int:
    return sum(p.read_bytes().count(text.encode()) for p in folder.rglob("*") if p.is_file())


def test_an_erased_person_leaves_the_disk_with_a_compaction(own_server: ServerProcess) -> None:
    own_server.start()
    site = own_server.add_site("compacted.example")
    users = [f"u_{secrets.token_hex(12)}" for _ in range(5)]
    batch = [{"name": "signup", "user_id": users[n % 5], "event_id": f"e{n}"} for n in range(200)]
    assert site.post("/api/collect", {"batch": batch}, secret=True)[0] == 200
    status, body = own_server.request(
        "DELETE",
        f"/api/v1/persons/{users[0]}?site={site.site}",
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )
    assert (status, body["deleted"]) == (200, 40)
    own_server.stop()
    data = own_server.data_dir
    # Deleted from every query, but DuckDB keeps the value in the block that held it.
    assert copies(data, users[0]) >= 1

    report = json.loads(clycyo("compact", "--json", "--memory-limit", "64MB", data=data))
    assert report["file"] == str(data / "events.duckdb")
    assert copies(data, users[0]) == 0
    assert all(copies(data, user) >= 1 for user in users[1:])
    assert not list(data.glob("events.duckdb.*"))  # no copy or log left beside it

    again = ServerProcess(data).start()
    try:
        copy = Site(again, site.site, site.public_key, site.secret_key)  # the keys came along
        stored = sorted(e["event_id"] for e in copy.events(limit="1000"))
        assert stored == sorted(f"e{n}" for n in range(200) if n % 5)
        after = {"name": "after", "user_id": users[1]}
        assert copy.post("/api/collect", after, secret=True)[0] == 200
    finally:
        again.kill()


def test_compacting_a_folder_a_server_holds_changes_nothing(own_server: ServerProcess) -> None:
    own_server.start()
    before = (own_server.data_dir / "events.duckdb").stat().st_mtime_ns
    result = run_clycyo("compact", data=own_server.data_dir)
    assert result.returncode == 1
    # One line naming the server, before anything is said to have started.
    assert result.stderr.splitlines() == [
        f"clycyo: a server is running on {own_server.data_dir} ({own_server.url}); stop it first"
    ]
    assert result.stdout == ""
    assert (own_server.data_dir / "events.duckdb").stat().st_mtime_ns == before
    assert own_server.get("/healthz")[0] == 200


def test_a_memory_limit_duckdb_cannot_take_is_refused_before_anything_is_opened(
    tmp_path: Path,
) -> None:
    result = run_clycyo("compact", "--memory-limit", "lots", data=tmp_path)
    assert result.returncode == 2
    assert "--memory-limit, CLYCYO_MEMORY_LIMIT" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())
