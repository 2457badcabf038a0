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
