"""The serving processes' garbage-collector settings, applied in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def test_tune_freezes_what_start_up_built_and_collects_the_young_less_often() -> None:
    script = (
        "import gc; from clycyo import gc_tuning; before = gc.get_freeze_count();"
        " gc_tuning.tune(); print(before, gc.get_freeze_count(), *gc.get_threshold())"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    before, frozen, *threshold = (int(n) for n in output)
    assert before == 0 and frozen > 1000
    assert threshold == [20_000, 50, 100]
