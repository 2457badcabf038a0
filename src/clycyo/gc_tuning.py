"""The garbage collector's settings for a serving process (the core and every collector).

Everything built at start-up lives as long as the process: `tune` keeps the collector from
scanning it again and again (`gc.freeze`), and collects the young generation less often, since
each request makes and drops thousands of small objects without reference cycles. Measured:
about a fifth less CPU per event under batches.
"""

from __future__ import annotations

import gc


def tune() -> None:
    """Call once start-up is done, just before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
