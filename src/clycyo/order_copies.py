"""Which copy of an order is kept: the rule the pipeline's `dedupe` step and the store writer share.

Events with the same site, `name` and `order_id` are one order (`docs/revenue.md`). Of its
copies, one that carries money (`revenue`) outranks one that does not — a copy without an amount
never takes the payment's place — among copies alike in that, the server's outranks the
browser's (the server's amount is the verified one), and among copies alike in both, one that
names a person (a user id or a visitor id) outranks one that names nobody (Stripe may deliver an
invoice's payment before the Checkout Session that says who paid). A copy takes the place of the
one kept only if it outranks it; a later copy of the same rank is a duplicate. Whichever copy is
kept, and whatever the order the copies came in, it ends with the props of every copy of its
order (an invoice's `billing_reason` survives the Checkout Session's copy, before or after it):
its own values win, then a higher-ranked copy's over a lower's, then, among copies of one rank,
the earlier one's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

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


def with_props_of(kept: Event, others: Sequence[Mapping[str, str] | None]) -> Event:
    """`kept` with the props it lacks of the other copies of its order (`others`, in the order
    of `by_priority`), up to `MAX_PROPS` keys as any event."""
    props = merged_props(kept.props, others)
    if len(props) == len(kept.props or {}):
        return kept
    return msgspec.structs.replace(kept, props=props)


def merged_props(
    own: Mapping[str, str] | None, others: Sequence[Mapping[str, str] | None]
) -> dict[str, str]:
    """`own` with the keys it lacks of `others` (lowest priority first: the last one's values
    win over the earlier ones'), up to `MAX_PROPS` keys."""
    props = dict(own or {})
    for other in reversed(others):
        for key, value in (other or {}).items():
            if len(props) >= MAX_PROPS:
                break
            props.setdefault(key, value)
    return props


def by_priority(
    copies: Iterable[tuple[int, int, Mapping[str, str] | None]],
) -> list[Mapping[str, str] | None]:
    """The props of copies given as (rank, arrival, props), lowest priority first, as
    `merged_props` takes them: a higher rank wins, then an earlier arrival (a smaller number)."""
    return [props for _, _, props in sorted(copies, key=lambda copy: (copy[0], -copy[1]))]
