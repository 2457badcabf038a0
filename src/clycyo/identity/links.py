"""The writer's memory of identity links: which user each visitor id belonged to, and when.

A link is (visitor id, user id, time), from an `identify` event or any event carrying both ids.
Who a visitor's events belong to follows the shared-browser rule (`docs/identity.md`): from a
link on, the visitor is that link's user until a link to another user; before its first link it
is the first link's user. So only links that change the answer need storing: a link is kept when
the link before it in time (or, for the earliest, the first link) names another user. That keeps
the `identities` table at about one row per identified device.

Changes are applied at once (later events in the same batch see them) and can be undone until
`commit`, because the writer may fail to store the batch and send it again. This module neither
reads nor writes the store (the deriver loads and stores links).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

VisitorRef = tuple[int, str]  # (site_id, visitor_id)
UserRef = tuple[int, str]  # (site_id, user_id)


class LinkMemory:
    def __init__(self) -> None:
        self._links: dict[VisitorRef, list[tuple[int, str]]] = {}  # sorted by time
        self._visitors: dict[UserRef, set[str]] = {}
        self._undo: list[Callable[[], None]] = []

    def load(self, rows: Iterable[tuple[int, str, str, int]]) -> None:
        """Stored links (site_id, visitor_id, user_id, time_us), at start."""
        for site_id, visitor_id, user_id, time_us in rows:
            bisect.insort(self._links.setdefault((site_id, visitor_id), []), (time_us, user_id))
            self._visitors.setdefault((site_id, user_id), set()).add(visitor_id)

    def user_at(self, site_id: int, visitor_id: str, time_us: int) -> str | None:
        """The user a visitor's event at `time_us` belongs to, as far as known now."""
        links = self._links.get((site_id, visitor_id))
        if not links:
            return None
        position = bisect.bisect_right(links, (time_us, "\U0010ffff"))
        return links[position - 1][1] if position else links[0][1]

    def visitors_of(self, site_id: int, user_id: str) -> set[str]:
        return self._visitors.get((site_id, user_id), set())

    def users_of(self, site_id: int, visitor_id: str) -> list[str]:
        links = self._links.get((site_id, visitor_id), [])
        return list(dict.fromkeys(user for _, user in links))

    def observe(self, site_id: int, visitor_id: str, user_id: str, time_us: int) -> bool:
        """Take a link; True when it changes who the visitor is at some time (then store it)."""
        key = (site_id, visitor_id)
        links = self._links.get(key)
        if links:
            # Most visitors have one link, repeated by every later event that carries both ids.
            if len(links) == 1:
                before = links[0][1]
            else:
                position = bisect.bisect_right(links, (time_us, "\U0010ffff"))
                before = links[position - 1][1] if position else links[0][1]
            if before == user_id:
                return False
        else:
            links = []
            self._links[key] = links
            self._undo.append(lambda: self._drop(key))
        entry = (time_us, user_id)
        bisect.insort(links, entry)
        self._undo.append(lambda: links.remove(entry))
        visitors = self._visitors.setdefault((site_id, user_id), set())
        if visitor_id not in visitors:
            visitors.add(visitor_id)
            self._undo.append(lambda: visitors.discard(visitor_id))
        return True

    def _drop(self, key: VisitorRef) -> None:
        self._links.pop(key, None)

    def forget(self, site_id: int, visitor_ids: Iterable[str], user_ids: Iterable[str]) -> None:
        """Drop a person's links (erasure)."""
        for visitor_id in visitor_ids:
            for _, user_id in self._links.pop((site_id, visitor_id), []):
                self._visitors.get((site_id, user_id), set()).discard(visitor_id)
        for user_id in user_ids:
            for visitor_id in self._visitors.pop((site_id, user_id), set()):
                links = self._links.get((site_id, visitor_id))
                if links is not None:
                    links[:] = [link for link in links if link[1] != user_id]

    def commit(self) -> None:
        self._undo.clear()

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()
