"""The `dedupe` step: each event once, each order once, the server's order over the browser's.

It runs on the minimized `Event`. Event ids are checked against the pipeline's recent memory (the
store's writer is the authority over all of history). For money events with an `order_id`, events
of the same `name` and `order_id` are one: a repeat from the same origin is a duplicate, a browser
copy after the server's is superseded, and a server copy after the browser's is accepted (the
writer then removes the browser's copy). A copy this step would drop that carries a visitor id
and a user id goes on instead: it links them (`docs/identity.md`), and the writer, which applies
the same order rules with the store as the authority, keeps its link and not the copy.
"""

from __future__ import annotations

from clycyo.model import SERVER, Drop, DropReason, Event
from clycyo.pipeline.context import Context


def dedupe(event: Event, ctx: Context) -> Event | Drop:
    site_id = event.site_id
    if not ctx.recent_ids.add(site_id, event.event_id):
        return Drop(DropReason.DUPLICATE_EVENT)
    order_id = event.order_id
    if order_id is None:
        return event
    known = ctx.orders.origin(site_id, event.name, order_id)
    if known is not None:
        dropped = None
        if known == SERVER:
            same = event.origin == SERVER
            dropped = DropReason.DUPLICATE_ORDER if same else DropReason.SUPERSEDED_ORDER
        elif event.origin != SERVER:
            dropped = DropReason.DUPLICATE_ORDER
        if dropped is not None:
            if event.visitor_id is not None and event.user_id is not None:
                return event
            # Not accepted, so not remembered: the same event again is judged by its order.
            ctx.recent_ids.forget(site_id, event.event_id)
            return Drop(dropped)
    ctx.orders.remember(site_id, event.name, order_id, event.origin)
    return event


def undo(event: Event, ctx: Context) -> None:
    """Forget an accepted event whose write failed, so the client's retry is not a duplicate.

    The order is forgotten whatever was known before; the writer's check against the store keeps
    orders exact if a copy arrives again.
    """
    ctx.recent_ids.forget(event.site_id, event.event_id)
    if event.order_id is not None:
        ctx.orders.forget(event.site_id, event.name, event.order_id)
