"""A server of the fuzz suite's own, so hostile traffic cannot disturb other tests."""

from __future__ import annotations

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


def assert_still_healthy(server: ServerProcess, site: Site) -> None:
    """After the abuse: `/healthz` is 200 and a valid event is still accepted and stored."""
    assert server.get("/healthz")[0] == 200
    status, body = site.post(
        "/api/collect", {"name": "after_abuse", "event_id": "after-abuse"}, secret=True
    )
    assert status == 200, body
    assert any(e["event_id"] == "after-abuse" for e in site.events(name="after_abuse"))
