"""The queue between the application's threads and the consumer, bounded by count and by bytes.

The byte bound is on an estimate of each event's encoded size, taken at the call from the plain
values the caller gave (strings by their length, numbers at a flat few bytes) without encoding
anything: the event is encoded in the consumer thread, and `track()` must stay cheap. What holds
memory is large props and long strings, which the estimate follows. This module neither drops
nor counts: the dispatcher decides what to do when there is no room.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from typing import Any

# What every event carries besides the parts measured: keys, quotes, ids, type, time, revenue.
EVENT_OVERHEAD_BYTES = 160
_SCALAR_BYTES = 8  # a number, a boolean, null, or anything past the depth limit
_MAX_DEPTH = 4  # props are flat; a deeper value is counted flat instead of walked
_PAGE_FIELDS = ("url", "title", "referrer")


def estimated_bytes(event: Mapping[str, Any]) -> int:
    """About the JSON size of a queued event; cheap, and never raises for odd values.

    Only the parts that can be large are measured (the name, a page's url, title and referrer,
    props, traits and a context dict): looking at every field would cost `track()` as much again,
    and the overhead covers the rest of an ordinary event.
    """
    get = event.get
    size = EVENT_OVERHEAD_BYTES
    name = get("name")
    if type(name) is str:
        size += len(name)
    if get("type") == "pageview":
        for field in _PAGE_FIELDS:
            text = get(field)
            if type(text) is str:
                size += len(text)
    props = get("props") or get("traits")
    if type(props) is dict:
        size += _nested_bytes(props, 0)
    context = get("context")
    if type(context) is dict:
        size += _nested_bytes(context, 0)
    return size


def _nested_bytes(value: Any, depth: int) -> int:
    if depth >= _MAX_DEPTH:
        return _SCALAR_BYTES
    size = 2
    if type(value) is dict:
        for key, item in value.items():
            size += 4 + (len(key) if type(key) is str else _SCALAR_BYTES)
            kind = type(item)
            if kind is str:
                size += 2 + len(item)
            elif kind is dict or kind is list or kind is tuple:
                size += _nested_bytes(item, depth + 1)
            else:
                size += _SCALAR_BYTES
        return size
    for item in value:
        kind = type(item)
        if kind is str:
            size += 3 + len(item)
        elif kind is dict or kind is list or kind is tuple:
            size += 1 + _nested_bytes(item, depth + 1)
        else:
            size += 1 + _SCALAR_BYTES
    return size


class EventQueue:
    """A `SimpleQueue` that knows how many bytes of events it holds.

    Each item travels with its size, so the consumer's `get()` gives back exactly what `put()`
    counted; flush markers and the stop sentinel are put with size 0.
    """

    def __init__(self) -> None:
        self._items: queue.SimpleQueue[tuple[Any, int]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def qsize(self) -> int:
        return self._items.qsize()

    def put(self, item: Any, size_bytes: int = 0) -> None:
        if size_bytes:
            with self._lock:
                self._bytes += size_bytes
        self._items.put((item, size_bytes))

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        item, size_bytes = self._items.get(block, timeout)
        if size_bytes:
            with self._lock:
                self._bytes -= size_bytes
        return item
