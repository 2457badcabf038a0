"""`clycyo annotation add|list|remove`: a site's annotations (a release, a campaign's start), which
the overview chart marks, as the Settings page's Annotations section and the annotations API.

It writes the configuration store directly, so it works whether or not a server runs on the data
folder; the next chart shows the change. A time and a text are checked as everywhere else
(`config/annotations.py`); what this command makes is recorded as made by `cli`.
"""

from __future__ import annotations

import argparse

from clycyo.commands.site_lists import remove_row, run_action, site_named
from clycyo.config.annotations import AnnotationError, AnnotationStore, as_row, parse_time
from clycyo.config.store import ConfigStore

ACTIONS = (
    ("add", "mark a moment on a site's chart (a release, a campaign's start)"),
    ("list", "list annotations"),
    ("remove", "remove an annotation"),
)
MADE_BY = "cli"


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """The options of `annotation ACTION`."""
    if action == "add":
        parser.add_argument("text", help="what happened, one line of at most 200 characters")
        parser.add_argument("--site", required=True, help="the site's domain")
        parser.add_argument(
            "--at",
            metavar="WHEN",
            help="when: a day (2026-11-20, its start in the site's time zone) or a time"
            " (2026-11-20T14:30:00Z; without an offset, the site's local time); default now",
        )
    elif action == "list":
        parser.add_argument("--site", help="only this site's annotations")
    else:
        parser.add_argument("id", type=int, help="the annotation's id (from `annotation list`)")
        parser.add_argument("--site", required=True, help="the site's domain")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    at = None if args.at is None else parse_time(args.at, site.timezone)
    made = AnnotationStore(config).add(site.id, args.text, at=at, created_by=MADE_BY)
    return as_row(made, site.domain), f"annotation {made.id} at {made.time} added to {site.domain}"


def _list(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    store = AnnotationStore(config)
    sites = [site_named(config, args.site)] if args.site else config.sites()
    rows = [as_row(a, s.domain) for s in sites for a in store.between(s.id)]
    lines = [f"{r['id']:>4}  {r['site']}  {r['time']}  {r['text']}" for r in rows]
    return rows, "\n".join(lines) or "no annotations"


def _remove(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    return remove_row(AnnotationStore(config), site, args.id, "annotation")


_RUN = {"add": _add, "list": _list, "remove": _remove}


def run_annotation(args: argparse.Namespace, config: ConfigStore) -> int:
    return run_action(_RUN, (AnnotationError,), args, config)
