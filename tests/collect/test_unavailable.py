"""When the intake cannot keep events, the collector says so (503 + Retry-After) and recovers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from clycyo import local_server
from tests.serverproc import ServerProcess


def test_disk_fault_gives_503_then_recovers_without_loss(own_server: ServerProcess) -> None:
    own_server.env["CLYCYO_FAULT_INJECTION"] = "1"
    own_server.start()
    site = own_server.add_site("faulty.example")
    admin = local_server.find(own_server.data_dir)
    assert admin is not None
    assert site.post("/api/collect", {"name": "before", "event_id": "b"}, secret=True)[0] == 200

    assert admin.call("POST", "/api/admin/faults", {"intake": "No space left on device"})[0] == 200
    request = urllib.request.Request(
        own_server.url + "/api/collect",
        data=json.dumps({"name": "during", "event_id": "d"}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {site.secret_key}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 503
    assert int(refused.value.headers["Retry-After"]) > 0
    assert "retry" in json.loads(refused.value.read())["error"]
    status, health = own_server.get("/healthz")
    assert (status, health["status"], health["accepting"]) == (503, "unavailable", False)

    admin.call("POST", "/api/admin/faults", {"intake": None})
    deadline = time.monotonic() + 10
    while own_server.get("/healthz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    # The client retries the same event; it is stored once.
    assert (
        site.post("/api/collect", {"name": "during", "event_id": "d"}, secret=True)[1]["accepted"]
        == 1
    )
    assert sorted(e["event_id"] for e in site.events()) == ["b", "d"]


def test_store_outage_is_absorbed_by_the_log(own_server: ServerProcess) -> None:
    own_server.env["CLYCYO_FAULT_INJECTION"] = "1"
    own_server.start()
    site = own_server.add_site("outage.example")
    admin = local_server.find(own_server.data_dir)
    assert admin is not None
    admin.call("POST", "/api/admin/faults", {"writer": "store unreachable"})
    for n in range(20):
        assert (
            site.post("/api/collect", {"name": "kept", "event_id": f"k{n}"}, secret=True)[0] == 200
        )
    # Events are still acknowledged: a load balancer keeps sending them here.
    status, health = own_server.get("/healthz")
    assert (status, health["status"], health["accepting"]) == (200, "store_failing", True)
    assert health["writer_lag_records"] > 0
    assert "store unreachable" in health["writer_error"]
    admin.call("POST", "/api/admin/faults", {"writer": None})
    assert len(site.events(name="kept")) == 20
    status, health = own_server.get("/healthz")
    assert (status, health["status"], health["writer_error"]) == (200, "ok", None)
