"""The `dedupe` step: each event once, each order once, the best copy of an order kept.

It runs on the minimized `Event`. Event ids are checked against the pipeline's recent memory (the
store's writer is the authority over all of history). Events with an `order_id` and the same
`name` are one order, whose copies rank as `order_copies` says (money over none, then the server
over the browser, then a copy that names a person over one that names nobody): a later copy of
the same rank is a duplicate, one of a lower rank is superseded, and one of a higher rank is
accepted (the writer then removes the copy it replaces, and the accepted copy keeps the props
of it that it lacks, `order_copies.with_props_of`: this step remembers ranks, not copies).
A copy this step would drop that carries a visitor id and a user id goes on instead: it links
them (`docs/identity.md`), and the writer, which applies the same order rules with the store as
the authority, keeps its link and not the copy. One that carries props is dropped, but handed on
to the writer all the same (`Drop.handed_on`), which gives the copy kept the props it lacks.
"""

from __future__ import annotations

from clycyo import order_copies
from clycyo.model import Drop, DropReason, Event
from clycyo.pipeline.context import Context


def dedupe(event: Event, ctx: Context) -> Event | Drop:
    site_id = event.site_id
    if not ctx.recent_ids.add(site_id, event.event_id):
        return Drop(DropReason.DUPLICATE_EVENT)
    order_id = event.order_id
    if order_id is None:
        return event
    known = ctx.orders.rank(site_id, event.name, order_id)
    arriving = order_copies.rank_of(event)
    if known is not None and arriving <= known:
        if event.visitor_id is not None and event.user_id is not None:
            return event
        # Not accepted, so not remembered: the same event again is judged by its order.
        ctx.recent_ids.forget(site_id, event.event_id)
        same = arriving == known
        reason = DropReason.DUPLICATE_ORDER if same else DropReason.SUPERSEDED_ORDER
        return Drop(reason, handed_on=event if event.props else None)
    ctx.orders.remember(site_id, event.name, order_id, arriving)
    return event


def undo(event: Event, ctx: Context) -> None:
    """Forget an accepted event whose write failed, so the client's retry is not a duplicate.

    The order is forgotten whatever was known before; the writer's check against the store keeps
    orders exact if a copy arrives again.
    """
    ctx.recent_ids.forget(event.site_id, event.event_id)
    if event.order_id is not None:
        ctx.orders.forget(event.site_id, event.name, event.order_id)
