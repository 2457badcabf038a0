"""Fixtures: a small world on the real write path (see `tests/small_world.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines import ENGINES, storage_url
from tests.small_world import SmallWorld


@pytest.fixture(params=ENGINES)
def world(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_folder: Path
) -> Iterator[SmallWorld]:
    opened = SmallWorld(tmp_path, storage=storage_url(request.param, chdb_folder))
    yield opened
    opened.close()
