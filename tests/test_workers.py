"""`clycyo serve --workers N`: collector processes beside the core, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from clycyo import local_server
from clycyo.store.segments import HEADER
from tests.serverproc import ServerProcess, Site, clycyo, run_clycyo
from tests.test_durability import sender

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def start(server: ServerProcess, workers: int = 2) -> ServerProcess:
    server.extra_args = ("--workers", str(workers))
    server.env["CLYCYO_RATE_LIMIT_SOURCE"] = "0"
    server.start()
    return server


def collector_pids(server: ServerProcess) -> list[int]:
    pids = []
    for path in (server.data_dir / "run").glob("collector-*.json"):
        pids.append(int(json.loads(path.read_text())["pid"]))
    return pids


def test_collectors_accept_and_the_core_answers_everything_else(own_server: ServerProcess) -> None:
    start(own_server)
    site = own_server.add_site("w.example")
    ids = [uuid.uuid4().hex for _ in range(40)]
    for event_id in ids[:20]:
        body = {
            "key": site.public_key,
            "type": "pageview",
            "url": "https://w.example/a",
            "event_id": event_id,
        }
        status, answer = own_server.post(
            "/api/collect", body, headers={"Origin": "https://w.example", "User-Agent": CHROME}
        )
        assert (status, answer["accepted"]) == (200, 1)
    batch = {
        "batch": [{"name": "signup", "event_id": i, "context": {"ip": "8.8.8.8"}} for i in ids[20:]]
    }
    assert site.post("/api/collect", batch, secret=True)[1]["accepted"] == 20
    # Reads go to the core and see everything acknowledged before them.
    stored = site.events()
    assert sorted(e["event_id"] for e in stored) == sorted(ids)
    assert {e["country"] for e in stored if e["name"] == "signup"} == {"US"}
    # The rest of the product is reachable through the public port as well.
    status, health = own_server.get("/healthz")
    assert status == 200
    assert health["collectors"] == 2
    with urllib.request.urlopen(own_server.url + "/js/clycyo.js") as response:
        assert response.status == 200
    with urllib.request.urlopen(own_server.url + "/login") as response:
        assert b"<form" in response.read()
        assert len(response.headers.get_all("Date")) == 1  # the core's is not added to it
    query = {"site": site.site, "metrics": ["pageviews", "events"], "date_range": "7d"}
    status, result = site.post("/api/v1/query", query, secret=True)
    assert status == 200, result
    assert result["results"][0]["metrics"][0] == 20
    # Both collectors run (one may still have been starting while the other answered all this).
    deadline = time.monotonic() + 30
    while len(set(collector_pids(own_server))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(set(collector_pids(own_server))) == 2
    # The core's metrics count what the collectors accepted (they report every second).
    deadline = time.monotonic() + 5
    accepted = 0.0
    while accepted < 40 and time.monotonic() < deadline:
        with urllib.request.urlopen(own_server.url + "/metrics") as response:
            for line in response.read().decode().splitlines():
                if line.startswith("clycyo_events_accepted_total "):
                    accepted = float(line.split()[1])
        time.sleep(0.2)
    assert accepted == 40


def test_kill_9_of_the_core_loses_nothing_the_collectors_acknowledged(
    own_server: ServerProcess,
) -> None:
    start(own_server)
    site = own_server.add_site("k.example")
    acknowledged: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=sender, args=(own_server.url, site.secret_key, acknowledged, stop))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 10_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    # A collector dies first (the core starts another), then the core itself.
    os.kill(collector_pids(own_server)[0], signal.SIGKILL)
    time.sleep(0.5)
    own_server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 2_000
    start(own_server)
    stored = Counter(e["event_id"] for e in site.events(name="tick", limit="10000000"))
    missing = [i for i in acknowledged if i not in stored]
    doubled = [i for i, n in stored.items() if n > 1]
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert not doubled, f"{len(doubled)} events stored twice"


def test_erasure_reaches_the_collectors_logs(own_server: ServerProcess) -> None:
    start(own_server)
    site: Site = own_server.add_site("e.example")
    person = "erase-me-" + uuid.uuid4().hex[:8]
    events = [{"name": "click", "user_id": person} for _ in range(30)]
    events += [{"name": "click", "user_id": "someone-else"}]
    assert site.post("/api/collect", {"batch": events}, secret=True)[1]["accepted"] == 31
    assert len(site.events()) == 31
    status, answer = own_server.request(
        "DELETE",
        f"/api/v1/persons/{person}?site={site.site}",
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )
    assert status == 200, answer
    assert answer["deleted"] == 30
    logs = b"".join(p.read_bytes() for p in (own_server.data_dir / "intake").rglob("*.log"))
    assert person.encode() not in logs
    assert [e["user_id"] for e in site.events()] == ["someone-else"]


def _told_every_collector(server: ServerProcess) -> None:
    """Wait until each collector has taken what the core told it to forget (it looks once a
    second)."""
    deadline = time.monotonic() + 10
    while list((server.data_dir / "intake").glob("w*/forget-*.json")):
        assert time.monotonic() < deadline, "a collector did not take the orders to forget"
        time.sleep(0.1)


def test_a_copy_of_an_erased_order_is_accepted_and_stored_by_a_collector(
    own_server: ServerProcess,
) -> None:
    """A collector forgets the orders an erasure deleted, as the core does: a later copy of
    one is the order's only copy, answered as accepted (not as a duplicate stored all the
    same)."""
    start(own_server, workers=1)
    site: Site = own_server.add_site("erased-orders.example")
    money = {"amount": "20.00", "currency": "EUR"}
    payment = {"name": "payment", "user_id": "u1", "order_id": "in_1", "revenue": money}
    first = {**payment, "event_id": "p1", "props": {"plan": "pro"}}
    assert site.post("/api/collect", first, secret=True)[1]["accepted"] == 1
    assert [e["event_id"] for e in site.events()] == ["p1"]
    status, answer = own_server.request(
        "DELETE",
        f"/api/v1/persons/u1?site={site.site}",
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )
    assert (status, answer["deleted"]) == (200, 1), answer
    _told_every_collector(own_server)

    later = {**payment, "event_id": "p2", "props": {"billing_reason": "x"}}
    status, answer = site.post("/api/collect", later, secret=True)
    assert (answer["accepted"], answer["duplicates"]) == (1, 0)
    stored = [(e["event_id"], e["props"]) for e in site.events()]
    assert stored == [("p2", {"billing_reason": "x"})]


def test_a_backup_holds_what_the_collectors_acknowledged(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    start(own_server)
    site = own_server.add_site("b.example")
    ids = [f"b-{n}" for n in range(300)]
    for chunk in range(0, len(ids), 100):
        batch = [{"name": "paid", "event_id": i} for i in ids[chunk : chunk + 100]]
        assert site.post("/api/collect", {"batch": batch}, secret=True)[1]["accepted"] == 100
    clycyo("backup", str(tmp_path / "copy"), "--json", data=own_server.data_dir)
    own_server.kill()
    restored = ServerProcess(tmp_path / "copy").start()
    try:
        copy = Site(restored, site.site, site.public_key, site.secret_key)
        assert sorted(e["event_id"] for e in copy.events(limit="1000")) == sorted(ids)
    finally:
        restored.kill()


def test_a_collector_numbers_on_after_what_the_core_loaded(own_server: ServerProcess) -> None:
    start(own_server, workers=1)
    site = own_server.add_site("n.example")
    for event_id in ("one", "two"):  # a record each
        assert site.post("/api/collect", {"name": "n", "event_id": event_id}, secret=True)[0] == 200
    assert len(site.events()) == 2  # loaded
    own_server.stop()
    # The collector's last record, loaded already, is damaged on disk and cut off on its start.
    [segment] = [
        p for p in (own_server.data_dir / "intake" / "w0").glob("*.log") if p.stat().st_size
    ]
    data = segment.read_bytes()
    first_end = HEADER.size + HEADER.unpack_from(data)[0]
    segment.write_bytes(data[:first_end] + data[first_end : first_end + 5])
    start(own_server, workers=1)
    assert site.post("/api/collect", {"name": "n", "event_id": "three"}, secret=True)[0] == 200
    assert sorted(e["event_id"] for e in site.events()) == ["one", "three", "two"]


def crash_with_events_in_a_collectors_log(
    server: ServerProcess, name: str
) -> tuple[Site, list[str]]:
    """A server with one collector that acknowledges five events the store cannot load (a
    fault holds it back), then `kill -9`: the five are in the collector's log only."""
    server.env["CLYCYO_FAULT_INJECTION"] = "1"
    start(server, workers=1)
    site = server.add_site(f"{name}.example")
    admin = local_server.find(server.data_dir)
    assert admin is not None
    admin.call("POST", "/api/admin/faults", {"writer": "store unreachable"})
    ids = [f"{name}-{n}" for n in range(5)]
    for event_id in ids:
        body = {"name": name, "event_id": event_id}
        assert site.post("/api/collect", body, secret=True)[0] == 200
    server.kill()  # the collector goes with it
    return site, ids


def test_collectors_logs_are_loaded_by_a_server_started_without_workers(
    own_server: ServerProcess,
) -> None:
    site, ids = crash_with_events_in_a_collectors_log(own_server, "left")
    own_server.extra_args = ()
    own_server.start()  # one process, no collectors
    assert sorted(e["event_id"] for e in site.events(name="left")) == ids
    assert own_server.get("/healthz")[1]["collectors"] == 0


def test_a_backup_of_a_folder_left_by_a_crash_holds_what_the_collectors_acknowledged(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    site, ids = crash_with_events_in_a_collectors_log(own_server, "copied")
    clycyo("backup", str(tmp_path / "copy"), "--json", data=own_server.data_dir)  # no server runs
    restored = ServerProcess(tmp_path / "copy").start()
    try:
        copy = Site(restored, site.site, site.public_key, site.secret_key)
        assert sorted(e["event_id"] for e in copy.events(name="copied")) == ids
    finally:
        restored.kill()


def test_an_answer_the_core_gives_before_reading_a_large_body_is_relayed(
    own_server: ServerProcess,
) -> None:
    """The core may refuse a request from its headers alone and close without reading a body
    larger than its socket's buffers: its answer still reaches the client, not a 503 saying the
    core cannot be reached (which a retry would never cure)."""
    start(own_server, workers=1)
    body = os.urandom(3 * 1024 * 1024)
    admin = (own_server.data_dir / "admin.token").read_text().strip()
    status, answer = own_server.request(
        "POST",
        "/api/admin/import?site=nowhere.example&first_row=1",
        body,
        {"Authorization": f"Bearer {admin}", "Content-Type": "application/octet-stream"},
    )
    assert (status, answer) == (404, {"error": "no site nowhere.example"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = own_server.request("POST", "/login", body, form)
    assert status == 413


def test_an_admin_job_longer_than_the_core_timeout_is_waited_for(
    own_server: ServerProcess,
) -> None:
    """An ordinary request waits at most CLYCYO_CORE_TIMEOUT for the core's answer; an admin
    job (here a site's removal, which waits over a second for the collectors to notice) is
    answered when it is done, however long that takes."""
    own_server.env["CLYCYO_CORE_TIMEOUT"] = "1"
    start(own_server, workers=1)
    site = own_server.add_site("long.example")
    accepted = site.post("/api/collect", {"name": "signup", "event_id": "e1"}, secret=True)
    assert accepted[0] == 200, accepted
    began = time.monotonic()
    removed = run_clycyo("site", "remove", site.site, "--yes", "--json", data=own_server.data_dir)
    assert time.monotonic() - began > 1  # longer than the ceiling of ordinary requests
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["site"] == site.site
