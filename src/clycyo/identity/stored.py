"""What the deriver reads back from the store: live visits and links, at start and on the rare path.

One statement text per question, with the store's dialect's spellings (`query/dialect.py`).
Times come back as epoch microseconds, the deriver's unit. Nothing here writes.
"""

from __future__ import annotations

from typing import Any

from clycyo.identity.schema import VISIT_NAMES
from clycyo.identity.visit import Visit, from_row
from clycyo.query import dialect
from clycyo.store.base import EventStore

_TIMES = {"started_at", "ended_at"}


def _columns(store: EventStore, alias: str) -> str:
    d = dialect.of(store.dialect)
    return ", ".join(
        f"{d.epoch_us(alias + n)} AS {n}" if n in _TIMES else alias + n for n in VISIT_NAMES
    )


def _live(store: EventStore) -> str:
    """A live state is a +1 row that no -1 row with the same state number cancels."""
    inner = "(c.visit_id, c.state)" if store.dialect == "duckdb" else "c.visit_id, c.state"
    return (
        f"v.sign = 1 AND (v.visit_id, v.state) NOT IN"
        f" (SELECT {inner} FROM visits c WHERE c.sign = -1)"
    )


def _visits(store: EventStore, where: str, params: list[Any]) -> list[Visit]:
    rows = store.execute(
        f"SELECT {_columns(store, 'v.')} FROM visits v WHERE {where} AND {_live(store)}", params
    )
    return [from_row(dict(zip(VISIT_NAMES, row, strict=True))) for row in rows]


def newest_visit_end_us(store: EventStore) -> int | None:
    d = dialect.of(store.dialect)
    # count() guards ClickHouse, whose max() over no rows is the epoch, not NULL.
    row = store.execute(f"SELECT {d.epoch_us('max(ended_at)')}, count(*) FROM visits")
    return None if not row or not row[0][1] or row[0][0] is None else int(row[0][0])


def recent_visits(store: EventStore, since_us: int) -> list[Visit]:
    d = dialect.of(store.dialect)
    return _visits(store, f"v.ended_at >= {d.from_epoch_us('?')}", [since_us])


def visits_around(
    store: EventStore, site_id: int, visitor_key: int, from_us: int, to_us: int
) -> list[Visit]:
    d = dialect.of(store.dialect)
    return _visits(
        store,
        f"v.site_id = ? AND v.visitor_key = ? AND v.ended_at >= {d.from_epoch_us('?')}"
        f" AND v.started_at <= {d.from_epoch_us('?')}",
        [site_id, visitor_key, from_us, to_us],
    )


def visits_of_many(store: EventStore, wanted: list[tuple[int, int, int, int]]) -> list[Visit]:
    """Live visits of many visitors at once: (site_id, visitor_key, from_us, to_us) each."""
    if not wanted:
        return []
    d = dialect.of(store.dialect)
    columns = [list(column) for column in zip(*wanted, strict=True)]
    if store.dialect == "duckdb":
        window = (
            "SELECT unnest(?::INTEGER[]) AS site_id, unnest(?::UBIGINT[]) AS visitor_key,"
            " unnest(?::BIGINT[]) AS from_us, unnest(?::BIGINT[]) AS to_us"
        )
    else:
        window = (
            "SELECT w.1 AS site_id, w.2 AS visitor_key, w.3 AS from_us, w.4 AS to_us FROM"
            " (SELECT arrayJoin(arrayZip(CAST(? AS Array(UInt32)), CAST(? AS Array(UInt64)),"
            " CAST(? AS Array(Int64)), CAST(? AS Array(Int64)))) AS w)"
        )
    sql = (
        f"SELECT {_columns(store, 'v.')} FROM visits v JOIN ({window}) w"
        " ON v.site_id = w.site_id AND v.visitor_key = w.visitor_key"
        f" WHERE v.ended_at >= {d.from_epoch_us('w.from_us')}"
        f" AND v.started_at <= {d.from_epoch_us('w.to_us')} AND {_live(store)}"
    )
    rows = store.execute(sql, columns)
    return [from_row(dict(zip(VISIT_NAMES, row, strict=True))) for row in rows]


def links(store: EventStore) -> list[tuple[int, str, str, int]]:
    d = dialect.of(store.dialect)
    rows = store.execute(
        f"SELECT site_id, visitor_id, user_id, {d.epoch_us('linked_at')} FROM identities"
    )
    return [(int(r[0]), r[1], r[2], int(r[3])) for r in rows]
