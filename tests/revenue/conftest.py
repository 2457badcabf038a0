"""Fixtures: a small world on the real write path (see `tests/small_world.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.small_world import SmallWorld


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SmallWorld]:
    opened = SmallWorld(tmp_path)
    yield opened
    opened.close()
