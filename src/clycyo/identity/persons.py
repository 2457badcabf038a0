"""Relations the queries build persons from, per dialect: the identity map and live visits.

A person is the user a visitor id was linked to at the time (the shared-browser rule of
`links.py`, resolved here from the stored links), else the lone visitor id. `identity_map` turns
the links into intervals: one row per change of user, valid from the link (from the beginning of
time for a visitor's first user) until the next change. Only identified visitors appear in it,
so joining it is cheap. `{site}` is the builder's parameter for the site id.
"""

from __future__ import annotations

IDENTITY_MAP = {
    "duckdb": """
    SELECT visitor_key, visitor_key >> 24 AS visitor_bits, user_key >> 24 AS user_bits, user_id,
        CASE WHEN row_number() OVER w = 1 THEN TIMESTAMP '-infinity' ELSE linked_at END
            AS valid_from,
        coalesce(lead(linked_at) OVER w, TIMESTAMP 'infinity') AS valid_to
    FROM (
        SELECT visitor_key, user_key, user_id, linked_at,
            lag(user_key) OVER (PARTITION BY visitor_key ORDER BY linked_at, user_key)
                AS previous_user
        FROM identities WHERE site_id = {site}
    )
    WHERE previous_user IS DISTINCT FROM user_key
    WINDOW w AS (PARTITION BY visitor_key ORDER BY linked_at)""",
    "clickhouse": """
    SELECT visitor_key, bitShiftRight(visitor_key, 24) AS visitor_bits,
        bitShiftRight(user_key, 24) AS user_bits, user_id,
        if(row_number() OVER w = 1, toDateTime64(0, 6, 'UTC'), linked_at) AS valid_from,
        leadInFrame(linked_at, 1, toDateTime64('2299-12-31', 6, 'UTC')) OVER (w
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS valid_to
    FROM (
        SELECT visitor_key, user_key, user_id, linked_at,
            lagInFrame(toNullable(user_key)) OVER (PARTITION BY visitor_key
                ORDER BY linked_at, user_key) AS previous_user
        FROM identities WHERE site_id = {site}
    )
    WHERE previous_user IS NULL OR previous_user != user_key
    WINDOW w AS (PARTITION BY visitor_key ORDER BY linked_at)""",
}

# Joins of the map: a visit by its visitor and start, an event by the visitor bits of its visit
# id. (DuckDB text; `JOINS` has both dialects. ClickHouse takes the interval by ASOF, the
# latest start at or before the row's time, which is the same interval.)
JOIN_VISIT = (
    "LEFT JOIN m ON m.visitor_key = v.visitor_key"
    " AND v.started_at >= m.valid_from AND v.started_at < m.valid_to"
)
JOIN_EVENT = (
    "LEFT JOIN m ON m.visitor_bits = e.visit_id >> 24"
    " AND e.time >= m.valid_from AND e.time < m.valid_to"
)
JOINS = {
    "duckdb": {"visit": JOIN_VISIT, "event": JOIN_EVENT},
    "clickhouse": {
        "visit": "ASOF LEFT JOIN m ON m.visitor_key = v.visitor_key"
        " AND v.started_at >= m.valid_from",
        "event": "ASOF LEFT JOIN m ON m.visitor_bits = bitShiftRight(e.visit_id, 24)"
        " AND e.time >= m.valid_from",
    },
}

# A live visit state: a +1 row that no -1 row with the same state number cancels. (Uncorrelated
# on purpose: DuckDB runs a correlated NOT EXISTS here ~80 times slower.)
LIVE = {
    "duckdb": (
        "v.sign = 1 AND (v.visit_id, v.state) NOT IN (SELECT (c.visit_id, c.state) FROM visits c"
        " WHERE c.site_id = {site} AND c.sign = -1)"
    ),
    "clickhouse": (
        "v.sign = 1 AND (v.visit_id, v.state) NOT IN (SELECT visit_id, state FROM visits"
        " WHERE site_id = {site} AND sign = -1)"
    ),
}
