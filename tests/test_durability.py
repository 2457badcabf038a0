"""An acknowledged event survives `kill -9`, and is stored exactly once after the restart."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

from clycyo import local_server
from clycyo.store.segments import HEADER
from tests.serverproc import ServerProcess

THREADS = 4
BATCH = 50


def sender(url: str, secret_key: str, acknowledged: list[str], stop: threading.Event) -> None:
    while not stop.is_set():
        ids = [uuid.uuid4().hex for _ in range(BATCH)]
        body = json.dumps({"batch": [{"name": "tick", "event_id": i} for i in ids]}).encode()
        request = urllib.request.Request(
            url + "/api/collect",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {secret_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
        except (OSError, http.client.HTTPException):
            # Refused, reset, or cut off mid-answer by the kill: not acknowledged.
            time.sleep(0.01)
            continue
        if response.status == 200 and answer["accepted"] == BATCH:
            acknowledged.extend(ids)


def test_kill_9_mid_stream_loses_nothing_acknowledged(own_server: ServerProcess) -> None:
    own_server.start()
    site = own_server.add_site("durable.example")
    acknowledged: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=sender, args=(own_server.url, site.secret_key, acknowledged, stop))
        for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 20_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    own_server.kill()  # mid-stream: the senders are still sending
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 2_000

    own_server.start()
    stored = Counter(e["event_id"] for e in site.events(name="tick", limit="10000000"))
    missing = [i for i in acknowledged if i not in stored]
    doubled = [i for i, n in stored.items() if n > 1]
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert not doubled, f"{len(doubled)} events stored twice"


def test_a_record_damaged_on_disk_costs_only_its_own_events(own_server: ServerProcess) -> None:
    own_server.env["CLYCYO_FAULT_INJECTION"] = "1"
    own_server.start()
    site = own_server.add_site("bitrot.example")
    admin = local_server.find(own_server.data_dir)
    assert admin is not None
    admin.call("POST", "/api/admin/faults", {"writer": "store unreachable"})  # keep them in the log
    ids = [f"kept-{n}" for n in range(6)]
    for event_id in ids:  # one request at a time: a record each
        assert (
            site.post("/api/collect", {"name": "kept", "event_id": event_id}, secret=True)[0] == 200
        )
    own_server.kill()

    # A byte of the record that holds "kept-2" goes bad on disk.
    [segment] = (own_server.data_dir / "intake").glob("*.log")
    data = bytearray(segment.read_bytes())
    offset, spoiled = 0, 0
    while offset < len(data):
        length = HEADER.unpack_from(data, offset)[0]
        payload = bytes(data[offset + HEADER.size : offset + HEADER.size + length])
        if b"kept-2" in payload:
            data[offset + HEADER.size + payload.index(b"kept-2")] ^= 0x01
            spoiled += 1
        offset += HEADER.size + length
    assert spoiled == 1
    segment.write_bytes(bytes(data))

    own_server.start()
    stored = sorted(e["event_id"] for e in site.events(name="kept"))
    assert stored == [i for i in ids if i != "kept-2"]
    status, body = own_server.request("GET", "/metrics")
    assert status == 200
    assert "\nclycyo_intake_damaged_records_total 1\n" in body.decode()
    server_log = own_server.log_path.read_text()
    assert "damaged on disk" in server_log
    assert "records 1 to 6 (about" in server_log  # what the restart found to load
