"""What pipeline steps may consult besides the hit itself: salts, dedupe memory, optional data.

The context is long-lived (one per server process) and holds no per-request state: everything
about one event travels in its `Hit`. Tests build a `Context` directly with in-memory parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clycyo.pipeline.memory import ActiveHashes, OrderMemory, RecentIds
from clycyo.pipeline.salts import SaltRing

if TYPE_CHECKING:
    from clycyo.pipeline.shields import SiteShields


@dataclass
class Context:
    salts: SaltRing
    recent_ids: RecentIds = field(default_factory=RecentIds)
    orders: OrderMemory = field(default_factory=OrderMemory)
    active_hashes: ActiveHashes = field(default_factory=ActiveHashes)
    # An operator-provided MaxMind-format reader (regions, cities); None uses the bundled data.
    city_reader: Any | None = None
    # Returns the current time in epoch microseconds; steps use it only where `received_us`
    # is not the right clock (salt rotation).
    clock_us: Callable[[], int] | None = None
    # A site's `retention_days` (None: it keeps everything), for `filter_expired`; None for
    # no site with a retention.
    retention_days: Callable[[int], int | None] | None = None
    # A site's shields (None: it has no rules), for `filter_excluded`; None for no site with any.
    shields: Callable[[int], SiteShields | None] | None = None
