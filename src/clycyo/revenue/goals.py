"""Whether a goal carries money: whether any event it keeps ever came with an amount.

Plausible shows revenue for a goal set up with a currency, and none for the others; here a goal
is a custom event's name or a page goal, set up with nothing, so what tells is the events: a
goal carries money when some event of its (`event:` filters choosing it) was reported with an
amount, a payment or a refund, in any currency, at any time. A goal that never did has no
revenue to show, rather than zeros. Money events are in `actions`, as the ledger reads them
(`ledger.py`): a pageview is never one, so a page goal carries none. Read-only.
"""

from __future__ import annotations

from clycyo.query.conditions import Params, event_condition
from clycyo.query.spec import Filter
from clycyo.store.base import EventStore


def carries_money(store: EventStore, site_id: int, goal: tuple[Filter, ...]) -> bool:
    """Whether an event that the `event:` filters `goal` keep was ever reported with money."""
    params = Params()
    where = [f"e.site_id = {params.add(site_id)}", "e.revenue_amount IS NOT NULL"]
    where += [event_condition(f, store.dialect, params) for f in goal]
    text, values = params.render(f"SELECT 1 FROM actions e WHERE {' AND '.join(where)} LIMIT 1")
    return bool(store.execute(text, values))
