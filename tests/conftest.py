"""Shared fixtures: a real server process for HTTP tests, one fresh site per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines import available
from tests.serverproc import ServerProcess, Site


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One `clycyo serve` for the whole run; tests isolate themselves with their own site."""
    server = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def server(shared_server: ServerProcess) -> Site:
    """A fresh site (domain `tN-PID.localhost`) on the shared server, with its keys."""
    return shared_server.add_site()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own (for tests that stop, kill or inspect its data folder)."""
    server = ServerProcess(tmp_path / "data")
    yield server
    server.kill()


@pytest.fixture(scope="session")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The one chDB folder of the run (chDB keeps one engine per process), its engine kept
    open between tests: starting it costs more than most tests."""
    folder = tmp_path_factory.mktemp("chdb")
    if not available("chdb"):
        yield folder
        return
    from clycyo.store.clickhouse.transport import ChdbTransport

    keeper = ChdbTransport(str(folder), "keepalive")
    yield folder
    keeper.close()
