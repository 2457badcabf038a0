"""Which copy of an order is kept: the rule the pipeline's `dedupe` step and the store writer share.

Events with the same site, `name` and `order_id` are one order (`docs/revenue.md`). Of its
copies, one that carries money (`revenue`) outranks one that does not — a copy without an amount
never takes the payment's place — among copies alike in that, the server's outranks the
browser's (the server's amount is the verified one), and among copies alike in both, one that
names a person (a user id or a visitor id) outranks one that names nobody (Stripe may deliver an
invoice's payment before the Checkout Session that says who paid). A copy takes the place of the
one kept only if it outranks it; a later copy of the same rank is a duplicate. The copy that takes
another's place keeps the props of it that it lacks (an invoice's `billing_reason` survives the
Checkout Session's copy): its own values win, then a higher-ranked copy's over a lower's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from clycyo.collect.limits import MAX_PROPS
from clycyo.model import SERVER, Event

_MONEY = 4
_SERVER = 2
_PERSON = 1


def rank(origin: str, money: bool, person: bool) -> int:
    """A copy's rank, from 0 (a browser's copy without money that names nobody) to 7 (a
    server's copy with money that names a person): money weighs most, then the origin, then the
    person. The stores compute the same number in SQL from their `orders` rows."""
    return (
        (_MONEY if money else 0) | (_SERVER if origin == SERVER else 0) | (_PERSON if person else 0)
    )


def rank_of(event: Event) -> int:
    person = event.user_id is not None or event.visitor_id is not None
    return rank(event.origin, event.revenue_amount is not None, person)


def is_server(copy_rank: int) -> bool:
    return bool(copy_rank & _SERVER)


def with_props_of(kept: Event, replaced: Sequence[Mapping[str, str] | None]) -> Event:
    """`kept` with the props it lacks of the copies it takes the place of (`replaced`, lowest
    rank first), up to `MAX_PROPS` keys as any event."""
    props = dict(kept.props or {})
    for older in reversed(replaced):
        for key, value in (older or {}).items():
            if len(props) >= MAX_PROPS:
                break
            props.setdefault(key, value)
    if len(props) == len(kept.props or {}):
        return kept
    return msgspec.structs.replace(kept, props=props)
