"""A really full disk (a small tmpfs the test mounts): 503 + Retry-After, recovery, no loss;
and a full disk under the store alone: events still acknowledged, `/healthz` saying so.

Needs root (to mount); skipped otherwise. The fault switch (`tests/collect/test_unavailable.py`)
covers the same paths everywhere; these tests show the real `ENOSPC` takes them too.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, Site
from tests.tmpfs import tmpfs

SIZE_MB = 48


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", f"size={SIZE_MB}m") as mount_point:
        yield mount_point


def fill(path: Path) -> None:
    """Write until the filesystem is full."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk_bytes in (1024 * 1024, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * chunk_bytes)
    finally:
        os.close(descriptor)


def send(site: Site, ids: list[str]) -> tuple[int, str | None]:
    body = json.dumps({"batch": [{"name": "full", "event_id": i} for i in ids]}).encode()
    request = urllib.request.Request(
        site.url + "/api/collect",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {site.secret_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After")


def test_full_disk_refuses_then_recovers_without_loss(small_disk: Path) -> None:
    server = ServerProcess(small_disk / "data")
    server.log_path = small_disk.parent / "server.log"  # the log must not need the full disk
    server.start()
    try:
        site = server.add_site("full-disk.example")
        acknowledged: list[str] = []
        ids = [uuid.uuid4().hex for _ in range(50)]
        assert send(site, ids)[0] == 200
        acknowledged += ids
        filler = small_disk / "filler"
        fill(filler)

        refused: list[tuple[list[str], str | None]] = []
        for _ in range(300):
            ids = [uuid.uuid4().hex for _ in range(50)]
            status, retry_after = send(site, ids)
            assert status in (200, 503), status
            if status == 200:
                acknowledged += ids
            else:
                refused.append((ids, retry_after))
                break
        assert refused, "the full disk never refused a write"
        assert refused[0][1] is not None and int(refused[0][1]) >= 1
        assert server.get("/healthz")[0] == 503

        filler.unlink()
        deadline = time.monotonic() + 20
        while server.get("/healthz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.get("/healthz")[0] == 200
        retried = refused[0][0]
        assert send(site, retried)[0] == 200  # the client's retry, after Retry-After
        acknowledged += retried

        stored = [e["event_id"] for e in site.events(name="full", limit="100000")]
        assert sorted(stored) == sorted(acknowledged)
    finally:
        server.kill()


def test_an_erasure_on_a_full_disk_answers_503_and_finishes_when_asked_again(
    small_disk: Path,
) -> None:
    server = ServerProcess(small_disk / "data")
    server.log_path = small_disk.parent / "server.log"
    server.start()
    try:
        site = server.add_site("erase-full.example")
        person = "erase-" + uuid.uuid4().hex[:8]
        batch = [{"name": "click", "user_id": person} for _ in range(20)]
        batch += [{"name": "click", "user_id": "someone-else"}]
        assert site.post("/api/collect", {"batch": batch}, secret=True)[1]["accepted"] == 21
        assert len(site.events(name="click")) == 21
        filler = small_disk / "filler"
        fill(filler)
        path = f"/api/v1/persons/{person}?site={site.site}"
        bearer = {"Authorization": f"Bearer {site.secret_key}"}
        status, answer = server.request("DELETE", path, headers=bearer)
        assert status == 503, answer
        assert "erasure not finished" in answer["error"]
        filler.unlink()
        status, answer = server.request("DELETE", path, headers=bearer)
        assert status == 200, answer
        assert answer["deleted"] == 20
        assert [e["user_id"] for e in site.events(name="click")] == ["someone-else"]
        logs = b"".join(p.read_bytes() for p in (small_disk / "data" / "intake").rglob("*.log"))
        assert person.encode() not in logs
    finally:
        server.kill()


def test_a_store_on_a_full_disk_is_said_by_healthz_while_the_log_keeps_every_event(
    small_disk: Path,
) -> None:
    """Only the store's disk is full (the data folder, with the intake log, is elsewhere): events
    are still acknowledged, so `/healthz` stays 200 and says the store is failing, and why."""
    store = small_disk / "events.duckdb"
    server = ServerProcess(
        small_disk.parent / "data", extra_args=("--storage", f"duckdb://{store}")
    )
    server.start()
    try:
        site = server.add_site("store-full.example")
        acknowledged = [uuid.uuid4().hex for _ in range(50)]
        assert send(site, acknowledged)[0] == 200
        assert len(site.events(name="full", limit="1000")) == 50
        filler = small_disk / "filler"
        fill(filler)

        deadline = time.monotonic() + 20
        while True:
            ids = [uuid.uuid4().hex for _ in range(50)]
            assert send(site, ids)[0] == 200
            acknowledged += ids
            status, health = server.get("/healthz")
            if health["status"] != "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200, health
        assert health["status"] == "store_failing"
        assert health["accepting"] is True
        assert "No space left on device" in health["writer_error"]
        assert health["writer_lag_records"] > 0

        filler.unlink()
        deadline = time.monotonic() + 20
        while server.get("/healthz")[1]["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        status, health = server.get("/healthz")
        assert (status, health["status"], health["writer_error"]) == (200, "ok", None)
        stored = [e["event_id"] for e in site.events(name="full", limit="100000")]
        assert sorted(stored) == sorted(acknowledged)
    finally:
        server.kill()
