"""The pipeline's short memory of what it has accepted, for the `dedupe` step.

`RecentIds` remembers event ids of the recent past in two generations, so memory stays bounded;
it answers the `duplicates` count of a response at once. It is a fast filter, not the authority:
the store's writer checks every event id against everything ever stored, so a repeat arriving
after it left this memory is still stored once.

`ActiveHashes` remembers cookieless visitor hashes of the last 30 minutes, so a visit that crosses
midnight keeps the hash made with yesterday's salt.

`OrderMemory` remembers, per (site, name, order_id), the rank of the copy accepted
(`order_copies`), so a later copy that does not outrank it is dropped and one that does
supersedes it. Whatever deletes an order's every stored copy (retention, erasure) has it forget
the order: a later copy is then the order's only one, and is accepted.
"""

from __future__ import annotations

from array import array

DEFAULT_GENERATION_SIZE = 250_000

_EMPTY, _FORGOTTEN = 0, 1  # slot values no key takes (every key has bit 1 set)
_KEY_BITS = (1 << 64) - 1


class RecentIds:
    """Hashes of recently accepted (site, event_id) pairs, in two generations.

    Each generation is a flat table of 64-bit integers with open addressing, kept at most half
    full: 16 to 32 bytes per remembered id, allocated once per generation (4 MiB each for the
    default 250,000 ids; growing a table would stall the event loop while it is copied). Not a
    Python set of ints: each int would be an object of its own (about 70 bytes with its slot),
    and those long-lived objects, made one per accepted event between the short-lived objects
    of the requests, would keep the interpreter's memory arenas from being returned after a
    burst of traffic.

    Python's own `hash` is enough here: the memory lives and dies with the process. Two ids
    whose hashes agree in 63 bits (about one chance in 10^13 per event with a full memory) would
    make the second count as a duplicate.
    """

    def __init__(self, generation_size: int = DEFAULT_GENERATION_SIZE) -> None:
        self._generation_size = generation_size
        self._slots = 1 << (2 * generation_size - 1).bit_length()
        # (table, mask) of the current generation, then of the previous one: a single empty
        # slot until the first generation is full.
        self._generations = ((_table(self._slots), self._slots - 1), (_table(1), 0))
        self._count = 0  # ids in the current generation

    def seen(self, site_id: int, event_id: str) -> bool:
        key = _key(site_id, event_id)
        (current, current_mask), (previous, previous_mask) = self._generations
        return (
            current[_probe(current, current_mask, key)] == key
            or previous[_probe(previous, previous_mask, key)] == key
        )

    def add(self, site_id: int, event_id: str) -> bool:
        """Remember an id; False if it was remembered already (then nothing changes). One call
        instead of `seen` and then `add`: the id's key is made and looked up once."""
        key = _key(site_id, event_id)
        (table, mask), (previous, previous_mask) = self._generations
        index = _probe(table, mask, key)
        if table[index] == key or previous[_probe(previous, previous_mask, key)] == key:
            return False
        table[index] = key
        self._count += 1
        if self._count >= self._generation_size:
            self._generations = ((_table(self._slots), mask), (table, mask))
            self._count = 0
        return True

    def forget(self, site_id: int, event_id: str) -> None:
        key = _key(site_id, event_id)
        for table, mask in self._generations:
            index = _probe(table, mask, key)
            if table[index] == key:
                table[index] = _FORGOTTEN  # not EMPTY: later keys of the same chain stay found


def _table(slots: int) -> array[int]:
    return array("Q", bytes(8 * slots))


def _key(site_id: int, event_id: str) -> int:
    return (hash((site_id, event_id)) & _KEY_BITS) | 2


def _probe(table: array[int], mask: int, key: int) -> int:
    """Where `key` is in `table`, or else the empty slot where it would go (a table is never
    full: at most half its slots are taken)."""
    index = (key >> 2) & mask
    value = table[index]
    while value != key and value:  # a value of 0 is _EMPTY
        index = (index + 1) & mask
        value = table[index]
    return index


class OrderMemory:
    """The rank (`order_copies.rank`) of the copy of each order accepted so far."""

    def __init__(self) -> None:
        self._ranks: dict[tuple[int, str, str], int] = {}

    def rank(self, site_id: int, name: str, order_id: str) -> int | None:
        return self._ranks.get((site_id, name, order_id))

    def remember(self, site_id: int, name: str, order_id: str, rank: int) -> None:
        self._ranks[(site_id, name, order_id)] = rank

    def forget(self, site_id: int, name: str, order_id: str) -> None:
        self._ranks.pop((site_id, name, order_id), None)

    def __len__(self) -> int:
        return len(self._ranks)


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
