"""Which copy of an order is kept: the rule the pipeline's `dedupe` step and the store writer share.

Events with the same site, `name` and `order_id` are one order (`docs/revenue.md`). Of its
copies, one that carries money (`revenue`) outranks one that does not — a copy without an amount
never takes the payment's place — and among copies alike in that, the server's outranks the
browser's (the server's amount is the verified one). A copy takes the place of the one kept only
if it outranks it; a later copy of the same rank is a duplicate.
"""

from __future__ import annotations

from clycyo.model import SERVER, Event

_MONEY = 2
_SERVER = 1


def rank(origin: str, money: bool) -> int:
    """A copy's rank: 0 a browser's without money, 1 a server's without, 2 a browser's with
    money, 3 a server's with money."""
    return (_MONEY if money else 0) | (_SERVER if origin == SERVER else 0)


def rank_of(event: Event) -> int:
    return rank(event.origin, event.revenue_amount is not None)


def is_server(copy_rank: int) -> bool:
    return bool(copy_rank & _SERVER)
