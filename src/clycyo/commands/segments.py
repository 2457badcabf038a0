"""`clycyo segment add|list|remove`: a site's segments (named sets of filters), as the
dashboard's Segments menu.

A filter is written as in a dashboard link's `f` parameter, `OPERATOR,DIMENSION,VALUE`
(`is,visit:country,DE`), and checked as the query API checks it (`config/segments.py`). It
writes the configuration store directly, so it works whether or not a server runs on the data
folder; the next query and page read the change. What this command makes is recorded as made by
`cli`.
The store's module, the query layer it checks filters with and the dashboard's reading of a
filter are imported only when the command runs, so building the command line's parser stays
light.
"""

from __future__ import annotations

import argparse
from typing import Any

from clycyo.commands.site_lists import remove_row, run_action, site_named
from clycyo.config.goals import PageGoalStore
from clycyo.config.store import ConfigStore

ACTIONS = (
    ("add", "save a set of filters under a name ('Paid traffic from Germany')"),
    ("list", "list segments"),
    ("remove", "remove a segment"),
)
MADE_BY = "cli"


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """The options of `segment ACTION`."""
    if action == "add":
        parser.add_argument("name", help="the segment's name, at most 80 characters")
        parser.add_argument("--site", required=True, help="the site's domain")
        parser.add_argument(
            "--filter",
            dest="filters",
            action="append",
            required=True,
            metavar="OPERATOR,DIMENSION,VALUE",
            help="a filter as in a dashboard link's f parameter (is,visit:source,Google or"
            " is_not, contains); repeat for more, all must hold",
        )
    elif action == "list":
        parser.add_argument("--site", help="only this site's segments")
    else:
        parser.add_argument("id", type=int, help="the segment's id (from `segment list`)")
        parser.add_argument("--site", required=True, help="the site's domain")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _query_filter(text: str, index: int) -> list[Any]:
    from clycyo.config.segments import SegmentError
    from clycyo.web.dashboard.params import OPERATORS, parse_filter

    parsed = parse_filter(text)
    if parsed is None:
        raise SegmentError(
            f"filters[{index}]: {text!r} is not OPERATOR,DIMENSION,VALUE"
            f" (operators: {', '.join(OPERATORS)})"
        )
    return parsed.as_query()


def _filters_text(row: dict[str, Any]) -> str:
    return "; ".join(f"{op} {dim} {', '.join(values)}" for op, dim, values in row["filters"])


def _add(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    from clycyo.config.segments import SegmentStore, as_row

    site = site_named(config, args.site)
    filters = [_query_filter(text, i) for i, text in enumerate(args.filters)]
    goals = PageGoalStore(config).patterns(site.id)
    made = SegmentStore(config).add(
        site.id, args.name, filters, created_by=MADE_BY, page_goals=goals
    )
    return as_row(made, site.domain), f"segment {made.id} {made.name!r} added to {site.domain}"


def _list(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    from clycyo.config.segments import SegmentStore, as_row

    store = SegmentStore(config)
    sites = [site_named(config, args.site)] if args.site else config.sites()
    rows = [as_row(s, site.domain) for site in sites for s in store.list(site.id)]
    lines = [f"{r['id']:>4}  {r['site']}  {r['name']}  ({_filters_text(r)})" for r in rows]
    return rows, "\n".join(lines) or "no segments"


def _remove(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    from clycyo.config.segments import SegmentStore

    site = site_named(config, args.site)
    return remove_row(SegmentStore(config), site, args.id, "segment")


_RUN = {"add": _add, "list": _list, "remove": _remove}


def run_segment(args: argparse.Namespace, config: ConfigStore) -> int:
    from clycyo.config.segments import SegmentError

    return run_action(_RUN, (SegmentError,), args, config)
