"""The engines the store and query suites run through: the same fixtures on DuckDB and on
ClickHouse's in-process engine (chDB), so the two dialects cannot drift apart.

chDB holds one engine per process and folder, so every ClickHouse world of a test run shares one
folder, each in a database of its own; the folder lives as long as the run.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

ENGINES = ("duckdb", "chdb")
_numbers = itertools.count()


def available(engine: str) -> bool:
    if engine != "chdb":
        return True
    try:
        import chdb  # noqa: F401
    except ImportError:
        return False
    return True


def storage_url(engine: str, shared: Path) -> str | None:
    """The `--storage` URL of a fresh store of `engine` (None: DuckDB in the data folder)."""
    if engine == "duckdb":
        return None
    if not available(engine):
        pytest.skip("chDB is not installed (pip install '.[clickhouse]')")
    return f"chdb://{shared}?database=t{next(_numbers)}"
