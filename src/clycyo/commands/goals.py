"""`clycyo goal add|list|remove`: a site's page goals, as the Settings page's Goals section.

It writes the configuration store directly, so it works whether or not a server runs on the data
folder; the next query reads the change. A pattern is checked as the Settings page checks it
(`config/goals.py`); custom events are goals without being added here.
"""

from __future__ import annotations

import argparse

from clycyo.commands.site_lists import remove_row, run_action, site_named
from clycyo.config.goals import GoalError, PageGoal, PageGoalStore
from clycyo.config.store import ConfigStore

ACTIONS = (
    ("add", "add a page goal to a site ('/thank-you', '/blog/**', '/product/*/buy')"),
    ("list", "list page goals"),
    ("remove", "remove a page goal (its pageviews stay)"),
)


def _row(goal: PageGoal, domain: str) -> dict[str, object]:
    return {"id": goal.id, "site": domain, "name": goal.name, "pattern": goal.pattern}


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """The options of `goal ACTION`."""
    if action == "add":
        parser.add_argument("pattern", help="a page path; * is any characters but /, ** any")
        parser.add_argument("--site", required=True, help="the site's domain")
    elif action == "list":
        parser.add_argument("--site", help="only this site's goals")
    else:
        parser.add_argument("id", type=int, help="the goal's id (from `clycyo goal list`)")
        parser.add_argument("--site", required=True, help="the site's domain")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    goal = PageGoalStore(config).add(site.id, args.pattern)
    return _row(goal, site.domain), f"page goal {goal.pattern} added to {site.domain}"


def _list(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    goals = PageGoalStore(config)
    sites = [site_named(config, args.site)] if args.site else config.sites()
    rows = [_row(g, s.domain) for s in sites for g in goals.list(s.id)]
    lines = [f"{r['id']:>4}  {r['site']}  {r['name']}" for r in rows]
    return rows, "\n".join(lines) or "no page goals"


def _remove(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    return remove_row(PageGoalStore(config), site, args.id, "page goal")


_RUN = {"add": _add, "list": _list, "remove": _remove}


def run_goal(args: argparse.Namespace, config: ConfigStore) -> int:
    return run_action(_RUN, (GoalError,), args, config)
