"""The pipeline's short memory of what it has accepted, for the `dedupe` step.

`RecentIds` remembers event ids of the recent past in two generations, so memory stays bounded;
it answers the `duplicates` count of a response at once. It is a fast filter, not the authority:
the store's writer checks every event id against everything ever stored, so a repeat arriving
after it left this memory is still stored once.

`ActiveHashes` remembers cookieless visitor hashes of the last 30 minutes, so a visit that crosses
midnight keeps the hash made with yesterday's salt.

`OrderMemory` remembers, per (site, name, order_id), which origin has sent the money event, so a
browser copy of an order the server already reported is dropped and the server's copy supersedes
the browser's.
"""

from __future__ import annotations

DEFAULT_GENERATION_SIZE = 250_000


class RecentIds:
    """Hashes of recently accepted (site, event_id) pairs: about 60 bytes each, two generations.

    Python's own `hash` is enough here: the memory lives and dies with the process, and a
    collision would only make the response count one duplicate too many, never lose an event
    (the writer decides what is stored).
    """

    def __init__(self, generation_size: int = DEFAULT_GENERATION_SIZE) -> None:
        self._current: set[int] = set()
        self._previous: set[int] = set()
        self._generation_size = generation_size

    def seen(self, site_id: int, event_id: str) -> bool:
        key = hash((site_id, event_id))
        return key in self._current or key in self._previous

    def add(self, site_id: int, event_id: str) -> None:
        current = self._current
        current.add(hash((site_id, event_id)))
        if len(current) >= self._generation_size:
            self._previous = current
            self._current = set()

    def forget(self, site_id: int, event_id: str) -> None:
        key = hash((site_id, event_id))
        self._current.discard(key)
        self._previous.discard(key)


class OrderMemory:
    def __init__(self) -> None:
        self._origins: dict[tuple[int, str, str], str] = {}

    def origin(self, site_id: int, name: str, order_id: str) -> str | None:
        return self._origins.get((site_id, name, order_id))

    def remember(self, site_id: int, name: str, order_id: str, origin: str) -> None:
        self._origins[(site_id, name, order_id)] = origin

    def forget(self, site_id: int, name: str, order_id: str) -> None:
        self._origins.pop((site_id, name, order_id), None)

    def __len__(self) -> int:
        return len(self._origins)


ACTIVE_US = 30 * 60 * 1_000_000


class ActiveHashes:
    def __init__(self, max_entries: int = 200_000) -> None:
        self._last_seen_us: dict[str, int] = {}
        self._max_entries = max_entries

    def active(self, visitor_hash: str, now_us: int) -> bool:
        seen = self._last_seen_us.get(visitor_hash)
        return seen is not None and now_us - seen <= ACTIVE_US

    def touch(self, visitor_hash: str, now_us: int) -> None:
        seen = self._last_seen_us
        seen[visitor_hash] = now_us
        if len(seen) > self._max_entries:
            cutoff = now_us - ACTIVE_US
            for key in [k for k, t in seen.items() if t < cutoff]:
                del seen[key]
