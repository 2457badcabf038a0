"""A server of the fuzz suite's own, so hostile traffic cannot disturb other tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from clycyo import local_server
from tests.serverproc import ServerProcess, Site


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data").start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def fuzz_site(fuzz_server: ServerProcess) -> Site:
    return fuzz_server.add_site("fuzz.example")


@pytest.fixture(scope="module")
def admin_token(fuzz_server: ServerProcess, fuzz_site: Site) -> str:
    found = local_server.find(fuzz_server.data_dir)
    assert found is not None
    return found.admin_token


# How long acknowledged events may take to be readable. A read waits up to 5 s for the store's
# writer, then answers with what is stored; on a loaded machine the writer can be further behind.
STORED_WITHIN_S = 60.0


def stored_ids(site: Site, name: str, expected: set[str]) -> set[str]:
    """The ids of the stored events named `name`, read again until `expected` are all among
    them or `STORED_WITHIN_S` has passed (then what is stored, for the caller's assertion)."""
    deadline = time.monotonic() + STORED_WITHIN_S
    while True:
        stored = {e["event_id"] for e in site.events(name=name)}
        if expected <= stored or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def assert_still_healthy(server: ServerProcess, site: Site) -> None:
    """After the abuse: `/healthz` is 200 and a valid event is still accepted and stored."""
    assert server.get("/healthz")[0] == 200
    status, body = site.post(
        "/api/collect", {"name": "after_abuse", "event_id": "after-abuse"}, secret=True
    )
    assert status == 200, body
    assert "after-abuse" in stored_ids(site, "after_abuse", {"after-abuse"})
