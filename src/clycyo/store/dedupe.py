"""The writer's duplicate rules for one batch: each (site, `event_id`) is stored once, and each
order (site, name, `order_id`) keeps one copy, the best by `order_copies` (money over none, then
the server's over the browser's, then a copy that names a person over one that names nobody).
The copy kept ends with the props of every copy of its order, whatever their order of arrival
(`order_copies.with_props_of`): one that takes the place of others, stored or in the batch, keeps
the props of theirs it lacks, and a stored copy that a later copy does not outrank takes the
props it lacks of that copy (`Batch.amended`, which the store applies in the same load). A copy
of an order that is not kept still names its visitor and user: it is handed on as a link
(`Batch.links`), since every event carrying both ids links them, stored or not
(`docs/identity.md`).

`SeenFingerprints` answers for the ids stored before, in one vectorised lookup per batch; a hit is
confirmed against the store's ids (a 64-bit digest may collide), and within a batch ids are
compared as they are.
"""

from __future__ import annotations

from typing import NamedTuple

from clycyo import order_copies
from clycyo.model import Event
from clycyo.store.base import AmendedCopy, EventStore
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
    amended: list[AmendedCopy]  # stored copies kept that take props of copies not kept


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
        # Per order, the batch's copies not kept, as (rank, index in `events`, copy).
        others: dict[tuple[int, str, str], list[tuple[int, int, Event]]] = {}
        if not any(already) and len(set(fingerprints)) == len(events):
            # The usual batch repeats no event: only its orders can drop or move one, so only
            # they are looked at. `batch_orders` holds places: an order's first copy's index.
            holder: dict[int, int] = {}  # place → index of the copy now in it
            dropped: set[int] = set()
            for index, key in orders:
                place = batch_orders.get(key)
                if place is not None:
                    current = holder.get(place, place)
                    if ranks[index] > ranks[current]:
                        holder[place] = index
                        left = current
                    else:
                        left = index
                    others.setdefault(key, []).append((ranks[left], left, events[left]))
                    dropped.add(index)
                    continue
                if not _outranks_stored(key, ranks[index], stored_orders, superseded, replaced):
                    others.setdefault(key, []).append((ranks[index], index, events[index]))
                    dropped.add(index)
                    continue
                batch_orders[key] = index
            outranked = [*superseded, *replaced]
            if not dropped:
                kept_events, amended = self._with_props(events, others, outranked)
                return Batch(kept_events, fingerprints, seqs, superseded, [], replaced, amended)
            places = [i for i in range(len(events)) if i not in dropped]
            chosen = [holder.get(i, i) for i in places]
            stored = set(chosen)
            kept_events, amended = self._with_props([events[i] for i in chosen], others, outranked)
            return Batch(
                kept_events,
                [fingerprints[i] for i in chosen],
                [seqs[i] for i in chosen],
                superseded,
                _links([e for i, e in enumerate(events) if i not in stored]),
                replaced,
                amended,
            )
        kept: list[Event] = []
        kept_fps: list[int] = []
        kept_seqs: list[int] = []
        kept_indexes: list[int] = []  # of `kept`, in `events`
        not_kept: list[Event] = []  # copies of orders, not repeats of an event id
        batch_ids: set[tuple[int, str]] = set()
        kept_ranks: list[int] = []  # of `kept` (0 for events of no order)
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
                        others.setdefault(key, []).append((rank, index, event))
                        continue
                    not_kept.append(kept[previous])
                    others.setdefault(key, []).append(
                        (kept_ranks[previous], kept_indexes[previous], kept[previous])
                    )
                    kept[previous] = event
                    kept_fps[previous] = fp
                    kept_seqs[previous] = seq
                    kept_indexes[previous] = index
                    kept_ranks[previous] = rank
                    batch_ids.add(key_id)
                    continue
                if not _outranks_stored(key, rank, stored_orders, superseded, replaced):
                    not_kept.append(event)
                    others.setdefault(key, []).append((rank, index, event))
                    continue
                batch_orders[key] = len(kept)
            batch_ids.add(key_id)
            kept.append(event)
            kept_fps.append(fp)
            kept_seqs.append(seq)
            kept_indexes.append(index)
            kept_ranks.append(rank)
        kept, amended = self._with_props(kept, others, [*superseded, *replaced])
        return Batch(kept, kept_fps, kept_seqs, superseded, _links(not_kept), replaced, amended)

    def _with_props(
        self,
        kept: list[Event],
        others: dict[tuple[int, str, str], list[tuple[int, int, Event]]],
        outranked: list[tuple[int, str, str]],
    ) -> tuple[list[Event], list[AmendedCopy]]:
        """`kept`, each copy of an order with the props it lacks of the other copies of its
        order (the batch's `others`; the store's, of the `outranked` orders), and the stored
        copies kept that take the props they lack of the batch's copies not kept
        (`order_copies.with_props_of`)."""
        if not others and not outranked:
            return kept, []
        in_batch = {(e.site_id, e.name, e.order_id) for e in kept if e.order_id is not None}
        # Orders whose copy kept is stored: only a copy not kept with props may add to it.
        to_amend = [
            key
            for key, copies in others.items()
            if key not in in_batch and any(copy.props for _, _, copy in copies)
        ]
        wanted = [*outranked, *to_amend]
        stored = self.store.order_props(wanted) if wanted else {}
        result = list(kept)
        for position, event in enumerate(kept):
            if event.order_id is None:
                continue
            key = (event.site_id, event.name, event.order_id)
            # A stored copy came before any of the batch's (-1: the earliest).
            copies: list[tuple[int, int, dict[str, str] | None]]
            copies = [(c.rank, -1, c.props) for c in stored.get(key, [])]
            copies += [(rank, index, copy.props) for rank, index, copy in others.get(key, [])]
            if copies:
                result[position] = order_copies.with_props_of(
                    event, order_copies.by_priority(copies)
                )
        amended: list[AmendedCopy] = []
        for key in to_amend:
            held = stored.get(key)
            if not held:
                continue  # none left to amend
            top = max(copy.rank for copy in held)
            extra = order_copies.by_priority(
                (rank, index, copy.props) for rank, index, copy in others[key]
            )
            for copy in held:
                props = order_copies.merged_props(copy.props, extra)
                if copy.rank == top and props != copy.props:
                    amended.append(AmendedCopy(key[0], key[1], copy.event_id, copy.time_us, props))
        return result, amended

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
