"""The progress bar of the commands that move rows (export, import): whole counts, not tqdm's
scaled fractions ("12,000/17,000 events", not "12.0k/17.0k"), on standard error."""

from __future__ import annotations

import sys

from tqdm import tqdm


def bar(total: int | None, unit: str, *, enabled: bool) -> tqdm:
    """A bar to `total` (a plain count with its rate when the total is not known), shown only
    when `enabled` (on a terminal: in a log or a pipe it would be a line per update)."""
    whole = (
        "{percentage:3.0f}%|{bar}| {n:,}/{total:,} " + unit + " [{elapsed}<{remaining}, {rate_fmt}]"
    )
    count = "{n:,} " + unit + " [{elapsed}, {rate_fmt}]"
    return tqdm(
        total=total or None,
        unit=f" {unit}",
        unit_scale=True,  # for the rate only: the counts are shown whole
        bar_format=whole if total else count,
        file=sys.stderr,
        disable=not enabled,
    )
