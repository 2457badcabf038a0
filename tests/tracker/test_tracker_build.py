"""The tracker's own checks, run with the Python suite: its node unit tests and its size budget."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

TRACKER = Path(__file__).parents[2] / "tracker"
# The same budget as tracker/scripts/size.mjs: the built script, compressed with gzip -9.
BUDGET_BYTES = 3000


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_tracker_unit_tests_pass() -> None:
    files = sorted(str(p) for p in (TRACKER / "test").glob("*.test.mjs"))
    assert files
    result = subprocess.run(
        ["node", "--test", *files],
        cwd=TRACKER,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_built_tracker_fits_its_size_budget() -> None:
    script = (TRACKER / "dist" / "clycyo.js").read_bytes()  # built by `make setup`
    assert len(gzip.compress(script, compresslevel=9)) <= BUDGET_BYTES
