"""The `segment` filter: `["is", "segment", [ID]]` stands for the filters of the query's site's
segment ID (as Plausible's API v2 spells it), put in its place before the spec is checked.

The expansion only rewrites the spec's filter lists, so a segment's filters are planned and
run as if the client had sent them, on every engine. A segment of another site reads as none;
either way the refusal names the filter (`filters[1]: no segment 7 on this site`), and a filter
of the segment that no longer holds (a page goal deleted since) names the filter and the
segment's own filter. The segments are looked up through `find`; nothing here reads the
configuration store or builds SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from clycyo.config.site_rows import MAX_ID
from clycyo.query.errors import QueryError
from clycyo.query.spec import SEGMENT, check_filter

# A segment's filters by its id on the query's site, None for none.
FindSegment = Callable[[int], list[list[Any]] | None]


def names_segment(raw: list[Any]) -> bool:
    return len(raw) == 3 and raw[1] == SEGMENT


def _segment_id(values: object, field: str) -> int:
    if isinstance(values, list) and len(values) == 1:
        values = values[0]
    if isinstance(values, bool) or not isinstance(values, int | str):
        raise QueryError(f"{field}[2]", "expected one segment id, such as [3]")
    try:
        number = int(values)
    except ValueError:
        raise QueryError(f"{field}[2]", f"not a segment id: {values!r}") from None
    if not 0 < number <= MAX_ID:
        raise QueryError(f"{field}[2]", f"not a segment id: {values!r}")
    return number


def expand(
    filters: list[list[Any]], find: FindSegment, page_goals: Collection[str] = ()
) -> list[list[Any]]:
    """`filters` with each `segment` filter replaced by its segment's filters; QueryError naming
    the filter as the client numbered it, for a segment there is none of on the site and for any
    other filter that is not one."""
    if not any(names_segment(raw) for raw in filters):
        return filters
    expanded: list[list[Any]] = []
    for index, raw in enumerate(filters):
        field = f"filters[{index}]"
        if not names_segment(raw):
            # Checked here, at the index the client sent: after a segment's filters are put in
            # place, the spec's own check would name the filter's place in the expanded list.
            check_filter(raw, field, page_goals)
            expanded.append(raw)
            continue
        if raw[0] != "is":
            raise QueryError(f"{field}[0]", "a segment filter's operator is is")
        segment_id = _segment_id(raw[2], field)
        found = find(segment_id)
        if found is None:
            raise QueryError(field, f"no segment {segment_id} on this site")
        for own_index, own in enumerate(found):
            try:
                check_filter(own, f"filters[{own_index}]", page_goals)
            except QueryError as exc:
                raise QueryError(field, f"segment {segment_id}'s {exc}") from None
        expanded.extend(found)
    return expanded
