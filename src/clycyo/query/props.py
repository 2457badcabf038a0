"""Which custom properties an event carries: the keys of `props` seen on events of one name.

The dashboard offers a breakdown by each key (`event:props:KEY`) once a goal is chosen; the
breakdown itself is an ordinary query. Keys are the most frequent first, over the period and the
view's filters. Values are parameters; the only identifiers are this module's.
"""

from __future__ import annotations

from typing import Any

from clycyo.config.store import Site
from clycyo.query import reports
from clycyo.query.builder import superseded
from clycyo.store.base import EventStore

MAX_KEYS = 20
_KEYS = {
    "duckdb": "unnest(map_keys(e.props))",
    "clickhouse": "arrayJoin(mapKeys(e.props))",
}


def prop_keys(
    store: EventStore,
    site: Site,
    *,
    name: str,
    date_range: str | list[str],
    filters: list[list[Any]] | None = None,
) -> list[str]:
    """The property keys of events named `name`, most frequent first."""
    period = reports.period(date_range, site)
    scope = reports.scope(store.dialect, site, period)
    where = [
        f"e.site_id = {scope.site_id}",
        f"e.time >= {scope.start}",
        f"e.time < {scope.end}",
        f"e.name = {scope.params.add(name)}",
        *scope.event_filters(reports.check_filters(filters or [])),
        *superseded(store.dialect, "events", scope.site_id),
    ]
    sql = (
        f"SELECT key, count(*) AS n FROM (SELECT {_KEYS[store.dialect]} AS key FROM events e"
        f" WHERE {' AND '.join(where)}) GROUP BY key ORDER BY n DESC, key"
        f" LIMIT {scope.params.add(MAX_KEYS)}"
    )
    text, params = scope.params.render(sql)
    return [str(row[0]) for row in store.execute(text, params) if row[0]]
