"""The writer's duplicate rules for one batch: each (site, `event_id`) is stored once, and each
order (site, name, `order_id`) keeps one copy, the best by `order_copies` (money over none, then
the server's over the browser's, then a copy that names a person over one that names nobody);
a copy that takes the place of others, stored or in the batch, keeps the props of theirs it lacks
(`order_copies.with_props_of`). A copy of an order that is not kept still names its visitor and
user: it is handed on as a link (`Batch.links`), since every event carrying both ids links them,
stored or not (`docs/identity.md`).

`SeenFingerprints` answers for the ids stored before, in one vectorised lookup per batch; a hit is
confirmed against the store's ids (a 64-bit digest may collide), and within a batch ids are
compared as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from clycyo import order_copies
from clycyo.model import Event
from clycyo.store.base import EventStore
from clycyo.store.columns import fingerprints as batch_fingerprints
from clycyo.store.seen import SeenFingerprints


class Batch(NamedTuple):
    """What `Dedupe.batch` keeps of a batch."""

    events: list[Event]  # to store
    fingerprints: list[int]  # of `events`
    seqs: list[int]  # of `events`
    superseded: list[tuple[int, str, str]]  # orders whose stored browser copies go
    links: list[Event]  # copies of orders not kept that carry a visitor id and a user id
    replaced: list[tuple[int, str, str]]  # orders whose every stored copy goes


def _links(events: list[Event]) -> list[Event]:
    return [e for e in events if e.visitor_id is not None and e.user_id is not None]


class Dedupe:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        # A store other collectors load into is asked for every batch (`batch`): no memory of
        # its fingerprints would answer for theirs, so none is loaded or kept.
        self.seen = None if store.shared else SeenFingerprints(store.fingerprints())

    def remember(self, fingerprints: list[int]) -> None:
        """Note the fingerprints of a batch the store committed."""
        if self.seen is not None:
            self.seen.add(fingerprints)

    def batch(self, events: list[Event], seqs: list[int]) -> Batch:
        """The events to store, with their fingerprints and sequence numbers, the orders whose
        stored copies a copy of the batch outranks, and the links of the order copies not kept:
        events the store or the batch already holds go, and each order keeps its best copy."""
        fingerprints = batch_fingerprints(events)
        if self.seen is None:
            already = self._confirmed(events, fingerprints, [True] * len(events))
        else:
            already = self.seen.contains(fingerprints)
            if any(already):
                already = self._confirmed(events, fingerprints, already)
        orders = [
            (index, (e.site_id, e.name, order_id))
            for index, e in enumerate(events)
            if (order_id := e.order_id) is not None
        ]
        stored_orders = self.store.orders([key for _, key in orders]) if orders else {}
        batch_orders: dict[tuple[int, str, str], int] = {}
        superseded: list[tuple[int, str, str]] = []
        replaced: list[tuple[int, str, str]] = []
        ranks = {index: order_copies.rank_of(events[index]) for index, _ in orders}
        if not any(already) and len(set(fingerprints)) == len(events):
            # The usual batch repeats no event: only its orders can drop or move one, so only
            # they are looked at. `batch_orders` holds places: an order's first copy's index.
            holder: dict[int, int] = {}  # place → index of the copy now in it
            held_before: dict[int, list[int]] = {}  # place → the copies it held before, in order
            dropped: set[int] = set()
            for index, key in orders:
                event = events[index]
                place = batch_orders.get(key)
                if place is not None:
                    current = holder.get(place, place)
                    if ranks[index] > ranks[current]:
                        held_before.setdefault(place, []).append(current)
                        holder[place] = index
                    dropped.add(index)
                    continue
                if not _outranks_stored(key, ranks[index], stored_orders, superseded, replaced):
                    dropped.add(index)
                    continue
                batch_orders[key] = index
            if not dropped:
                kept_events = self._with_replaced_props(events, {}, [*superseded, *replaced])
                return Batch(kept_events, fingerprints, seqs, superseded, [], replaced)
            places = [i for i in range(len(events)) if i not in dropped]
            chosen = [holder.get(i, i) for i in places]
            stored = set(chosen)
            earlier = {
                position: [events[i] for i in held_before[place]]
                for position, place in enumerate(places)
                if place in held_before
            }
            return Batch(
                self._with_replaced_props(
                    [events[i] for i in chosen], earlier, [*superseded, *replaced]
                ),
                [fingerprints[i] for i in chosen],
                [seqs[i] for i in chosen],
                superseded,
                _links([e for i, e in enumerate(events) if i not in stored]),
                replaced,
            )
        kept: list[Event] = []
        kept_fps: list[int] = []
        kept_seqs: list[int] = []
        not_kept: list[Event] = []  # copies of orders, not repeats of an event id
        batch_ids: set[tuple[int, str]] = set()
        kept_ranks: list[int] = []  # of `kept` (0 for events of no order)
        lower: dict[int, list[Event]] = {}  # a place in `kept` → the copies it held before
        for index, (event, fp, seen, seq) in enumerate(
            zip(events, fingerprints, already, seqs, strict=True)
        ):
            key_id = (event.site_id, event.event_id)
            if seen or key_id in batch_ids:
                continue
            rank = ranks.get(index, 0)
            if event.order_id is not None:
                key = (event.site_id, event.name, event.order_id)
                previous = batch_orders.get(key)
                if previous is not None:
                    if rank <= kept_ranks[previous]:
                        not_kept.append(event)
                        continue
                    not_kept.append(kept[previous])
                    lower.setdefault(previous, []).append(kept[previous])
                    kept[previous] = event
                    kept_fps[previous] = fp
                    kept_seqs[previous] = seq
                    kept_ranks[previous] = rank
                    batch_ids.add(key_id)
                    continue
                if not _outranks_stored(key, rank, stored_orders, superseded, replaced):
                    not_kept.append(event)
                    continue
                batch_orders[key] = len(kept)
            batch_ids.add(key_id)
            kept.append(event)
            kept_fps.append(fp)
            kept_seqs.append(seq)
            kept_ranks.append(rank)
        kept = self._with_replaced_props(kept, lower, [*superseded, *replaced])
        return Batch(kept, kept_fps, kept_seqs, superseded, _links(not_kept), replaced)

    def _with_replaced_props(
        self,
        kept: list[Event],
        lower: dict[int, list[Event]],
        outranked: list[tuple[int, str, str]],
    ) -> list[Event]:
        """`kept`, where a copy of an order took the place of others (the batch's in `lower`,
        by place in `kept`, lowest rank first; the store's of the `outranked` orders), with the
        props of theirs it lacks (`order_copies.with_props_of`)."""
        if not lower and not outranked:
            return kept
        stored = self.store.order_props(outranked) if outranked else {}
        result = list(kept)
        for position, event in enumerate(kept):
            if event.order_id is None:
                continue
            copies = stored.get((event.site_id, event.name, event.order_id), [])
            older: list[Mapping[str, str] | None] = [
                props for _, props in sorted(copies, key=lambda copy: copy[0])
            ]
            older += [copy.props for copy in lower.get(position, [])]
            if older:
                result[position] = order_copies.with_props_of(event, older)
        return result

    def _confirmed(
        self, events: list[Event], fingerprints: list[int], asked: list[bool]
    ) -> list[bool]:
        """Which of the `asked` events the store really holds: the store looks up the ids
        behind their fingerprints, so that two ids of a site whose 64-bit digests collide are
        still two events."""
        keys = [
            (event.site_id, event.time_us, fp)
            for event, fp, ask in zip(events, fingerprints, asked, strict=True)
            if ask
        ]
        stored = self.store.ids_of(keys)
        return [
            ask and (event.site_id, event.event_id) in stored
            for event, ask in zip(events, asked, strict=True)
        ]


def _outranks_stored(
    key: tuple[int, str, str],
    arriving: int,
    stored: dict[tuple[int, str, str], int],
    superseded: list[tuple[int, str, str]],
    replaced: list[tuple[int, str, str]],
) -> bool:
    """Whether a copy of order `key` of rank `arriving` is kept against the store's copy, if
    there is one. A server copy outranking a browser's supersedes it (`superseded`: reads leave
    out the browser copies of an order the server sent); any other copy outranking the stored
    one replaces every stored copy (`replaced`)."""
    held = stored.get(key)
    if held is None:
        return True
    if arriving <= held:
        return False
    if order_copies.is_server(arriving) and not order_copies.is_server(held):
        superseded.append(key)
    else:
        replaced.append(key)
    return True
