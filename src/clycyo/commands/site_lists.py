"""What the commands that keep a list per site share (`goal`, `shield`, `annotation`, `segment`):
the site a `--site` names, removing a row of the list by its id, and running an action with its
answer printed as text or JSON (`--json`) and its refusal as one `clycyo: …` line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping

from clycyo.commands.handlers import fail
from clycyo.config.site_rows import SiteRows, is_unicode
from clycyo.config.store import ConfigError, ConfigStore, Site

# An action: (what `--json` prints, what is printed otherwise).
Action = Callable[[argparse.Namespace, ConfigStore], tuple[object, str]]


def site_named(config: ConfigStore, domain: str) -> Site:
    # A --site whose bytes are no UTF-8 names no site (SQLite could not even be asked).
    site = config.site_by_domain(domain) if is_unicode(domain) else None
    if site is None:
        raise ConfigError(f"no site {domain}")
    return site


def remove_row(rows: SiteRows, site: Site, row_id: int, noun: str) -> tuple[object, str]:
    """`remove ID --site S`: the site's row of that id, or `ConfigError` naming the `noun`."""
    if not rows.delete(site.id, row_id):
        raise ConfigError(f"no {noun} {row_id} on {site.domain}")
    return {"removed": row_id, "site": site.domain}, f"{noun} {row_id} of {site.domain} removed"


def run_action(
    actions: Mapping[str, Action],
    refusals: tuple[type[Exception], ...],
    args: argparse.Namespace,
    config: ConfigStore,
) -> int:
    refused: tuple[type[Exception], ...] = (ConfigError, *refusals)
    try:
        data, text = actions[args.action](args, config)
    except refused as exc:
        return fail(exc)
    print(json.dumps(data) if args.json else text)
    return 0
