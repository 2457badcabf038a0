"""What the deriver reads back from the store: live visits and links, at start and on the rare path.

DuckDB SQL; the ClickHouse store will answer the same three questions in its own dialect. Times
come back as epoch microseconds, the deriver's unit. Nothing here writes.
"""

from __future__ import annotations

from typing import Any

from clycyo.identity.schema import VISIT_NAMES
from clycyo.identity.visit import Visit, from_row
from clycyo.store.base import EventStore

_TIMES = {"started_at", "ended_at"}
_COLUMNS = ", ".join(f"epoch_us({n}) AS {n}" if n in _TIMES else n for n in VISIT_NAMES)
_QUALIFIED = ", ".join(f"epoch_us(v.{n}) AS {n}" if n in _TIMES else f"v.{n}" for n in VISIT_NAMES)
# A live state is a +1 row that no -1 row with the same state number cancels.
_LIVE = (
    "v.sign = 1 AND (v.visit_id, v.state) NOT IN"
    " (SELECT (c.visit_id, c.state) FROM visits c WHERE c.sign = -1)"
)


def _visits(store: EventStore, where: str, params: list[Any]) -> list[Visit]:
    rows = store.execute(f"SELECT {_COLUMNS} FROM visits v WHERE {where} AND {_LIVE}", params)
    return [from_row(dict(zip(VISIT_NAMES, row, strict=True))) for row in rows]


def newest_visit_end_us(store: EventStore) -> int | None:
    row = store.execute("SELECT epoch_us(max(ended_at)) FROM visits")
    return None if not row or row[0][0] is None else int(row[0][0])


def recent_visits(store: EventStore, since_us: int) -> list[Visit]:
    return _visits(store, "ended_at >= make_timestamp(?::BIGINT)", [since_us])


def visits_around(
    store: EventStore, site_id: int, visitor_key: int, from_us: int, to_us: int
) -> list[Visit]:
    return _visits(
        store,
        "site_id = ? AND visitor_key = ? AND ended_at >= make_timestamp(?::BIGINT)"
        " AND started_at <= make_timestamp(?::BIGINT)",
        [site_id, visitor_key, from_us, to_us],
    )


def visits_of_many(store: EventStore, wanted: list[tuple[int, int, int, int]]) -> list[Visit]:
    """Live visits of many visitors at once: (site_id, visitor_key, from_us, to_us) each."""
    if not wanted:
        return []
    columns = [list(column) for column in zip(*wanted, strict=True)]
    sql = (
        f"SELECT {_COLUMNS} FROM visits v JOIN (SELECT unnest(?::INTEGER[]) AS site_id,"
        " unnest(?::UBIGINT[]) AS visitor_key, unnest(?::BIGINT[]) AS from_us,"
        " unnest(?::BIGINT[]) AS to_us) w ON v.site_id = w.site_id"
        " AND v.visitor_key = w.visitor_key AND v.ended_at >= make_timestamp(w.from_us)"
        f" AND v.started_at <= make_timestamp(w.to_us) WHERE {_LIVE}"
    )
    rows = store.execute(sql.replace("SELECT " + _COLUMNS, "SELECT " + _QUALIFIED, 1), columns)
    return [from_row(dict(zip(VISIT_NAMES, row, strict=True))) for row in rows]


def links(store: EventStore) -> list[tuple[int, str, str, int]]:
    rows = store.execute("SELECT site_id, visitor_id, user_id, epoch_us(linked_at) FROM identities")
    return [(int(r[0]), r[1], r[2], int(r[3])) for r in rows]
