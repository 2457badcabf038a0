"""One person's money: the ledger's payments and refunds of their events, net per currency.

It sums the same ledger as the `revenue` metric (`ledger.py`: each payment once, whatever copies
of it arrived, browser and server), narrowed to the person's events as their timeline reads them
(`identity/people.py`), so a person's net revenue and the query API's agree. Amounts in different
currencies are never added. Read-only.
"""

from __future__ import annotations

from decimal import Decimal

from clycyo.identity import people, persons
from clycyo.revenue.ledger import LEDGER
from clycyo.store.base import EventStore


def net_by_currency(store: EventStore, site_id: int, person_id: str) -> dict[str, Decimal] | None:
    """The person's payments minus refunds in each currency, or None for an unknown id."""
    person = people.resolve(store, site_id, person_id)
    if person is None:
        return None
    condition, values = people.event_rows(person)
    identity_map = persons.IDENTITY_MAP[store.dialect].replace("{site}", "?")
    ledger = LEDGER[store.dialect].replace("{site}", "?")
    rows = store.execute(
        f"WITH m AS ({identity_map}), money AS ({ledger})"
        " SELECT e.revenue_currency, sum(e.revenue_amount) FROM money e"
        f" {people.identity_join(store.dialect)} WHERE e.site_id = ? AND {condition}"
        " GROUP BY e.revenue_currency ORDER BY e.revenue_currency",
        [site_id, site_id, site_id, *values],
    )
    return {str(code): Decimal(str(amount)) for code, amount in rows if code is not None}
