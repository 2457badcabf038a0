"""The ledger relation: every money event once, whatever name or origin reported it.

Money events are events with `revenue_amount` (read from `actions`, the writer's narrow copy of
events that are not pageviews, engagement reports or vitals); refunds have a negative amount. The
writer already
keeps one copy per (name, order_id), the server's winning (CONTRACT §2). The ledger also folds
copies of one payment that arrived under different names (a browser `purchase` and the server's
`payment` for the same order): per order id and direction (payment or refund) the server's copy
is kept, else the earliest. Money without an order id counts per event. Amounts are never added
across currencies: `revenue` sums the site's reporting currency (`sites.currency`), and the
query's `meta.other_currencies` reports the rest per currency. `{site}` is the site parameter.
"""

from __future__ import annotations

LEDGER = {
    "duckdb": """
    SELECT * EXCLUDE (copy) FROM (
        SELECT e.*, row_number() OVER (
            PARTITION BY coalesce(e.order_id, e.event_id), e.revenue_amount > 0
            ORDER BY e.origin = 'server' DESC, e.time, e.event_id) AS copy
        FROM actions e WHERE e.site_id = {site} AND e.revenue_amount IS NOT NULL
    ) WHERE copy = 1""",
    "clickhouse": """
    SELECT * EXCEPT (copy) FROM (
        SELECT e.*, row_number() OVER (
            PARTITION BY coalesce(e.order_id, e.event_id), e.revenue_amount > 0
            ORDER BY e.origin = 'server' DESC, e.time, e.event_id) AS copy
        FROM actions e WHERE e.site_id = {site} AND e.revenue_amount IS NOT NULL
    ) WHERE copy = 1""",
}
