"""Removing a site and all its data (`clycyo site remove`, `POST /api/admin/sites/remove`).

First the configuration (`config/site_removal.py`): the site's row, keys, funnels, tokens' grants,
shared links and logins' access go in one SQLite transaction, and this process's cached view of
the sites is cleared, so its public and secret keys are answered as unknown keys from then on
(collector processes notice within their second). Then its data, as a job on the writer thread
(`Writer.submit`), as erasure and retention run, so no load races it: the collectors' logs are
loaded and their old segments deleted (`Writer.flush_collector_logs`), the local intake log is
rewritten without the site's events (loaded or not), its quarantine entries and Stripe links are
deleted, every row of it goes from every table of the event store that has a `site_id` (each
engine's `remove_site`), and what the pipeline and the deriver remember of its orders, visits and
identity links is forgotten. Other sites are not touched.

The removal is remembered (`removed_sites`) until its data is gone: if the data job fails (a
collector that does not answer, a full disk), the same command finds the removal again by its
domain and finishes it. A removed site's id is never given to a new site, so nothing left of it
in any memory can become another site's. This module decides nothing about HTTP or the command
line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from clycyo.config import site_removal
from clycyo.config.store import ConfigError

log = logging.getLogger(__name__)

_FOREVER_US = 2**62  # later than any entry's time: the quarantine's trim then takes them all


@dataclass
class SiteRemoval:
    site: str
    id: int
    configuration: dict[str, int] = field(default_factory=dict)  # rows by what they were
    store: dict[str, int] = field(default_factory=dict)  # rows by table (visits: visits)
    intake_events: int = 0
    quarantined: int = 0
    stripe_links: int = 0
    resumed: bool = False  # the configuration went in an earlier run that did not finish

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "id": self.id,
            "events": self.store.get("events", 0),
            "visits": self.store.get("visits", 0),
            "store": self.store,
            "intake_events": self.intake_events,
            "quarantined": self.quarantined,
            "stripe_links": self.stripe_links,
            "configuration": self.configuration,
            "resumed": self.resumed,
        }


def remove_configuration(runtime: Any, domain: str) -> SiteRemoval:
    """Remove the site from the configuration (or find its unfinished removal) and clear this
    process's cached view of the sites; raises `ConfigError` for a domain that names neither."""
    try:
        site, counts = site_removal.remove(runtime.config, domain)
    except ConfigError:
        pending = site_removal.unfinished(runtime.config, domain)
        if pending is None:
            raise
        # Its configuration went in that earlier run: none of this run's, every kind still named.
        nothing = dict.fromkeys(site_removal.KINDS, 0)
        return SiteRemoval(pending.domain, pending.id, configuration=nothing, resumed=True)
    runtime.directory.clear()
    return SiteRemoval(site.domain, site.id, configuration=counts)


def data_job(runtime: Any, removal: SiteRemoval) -> Any:
    """The job that deletes the site's data, for `runtime.writer.submit`; it fills `removal`."""

    def job() -> SiteRemoval:
        site_id = removal.id
        # What the collectors acknowledged is loaded first, so their logs keep nothing of it.
        runtime.writer.flush_collector_logs()
        removal.intake_events = runtime.intake.rewrite(
            lambda event: event.site_id != site_id,
            lambda rejection: rejection.site_id != site_id,
        )
        removal.quarantined = runtime.quarantine.trim(site_id, _FOREVER_US)
        removal.stripe_links = runtime.stripe_links.forget_site(site_id)
        store = runtime.store
        remembered = _remembered(store, site_id)
        remove_rows = getattr(store, "remove_site", None)
        if remove_rows is None:
            raise NotImplementedError(f"removing a site on {type(store).__name__}")
        removal.store = remove_rows(site_id)
        orders, visitors, users = remembered
        for name, order_id in orders:
            runtime.ctx.orders.forget(site_id, name, order_id)
        if runtime.deriver is not None:
            runtime.deriver.forget(site_id, visitors, users)
        site_removal.data_deleted(runtime.config, site_id)
        log.info("site removal: %s", removal.as_json())
        return removal

    return job


def _remembered(store: Any, site_id: int) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """The site's orders, visitor ids and user ids, for what memory holds of them."""
    orders = [
        (str(n), str(o))
        for n, o in store.execute("SELECT name, order_id FROM orders WHERE site_id = ?", [site_id])
    ]
    people = store.execute(
        "SELECT DISTINCT visitor_id, user_id FROM events WHERE site_id = ?", [site_id]
    )
    if "identities" in getattr(store, "derived_tables", ()):
        people += store.execute(
            "SELECT DISTINCT visitor_id, user_id FROM identities WHERE site_id = ?", [site_id]
        )
    visitors = sorted({str(v) for v, _ in people if v is not None})
    users = sorted({str(u) for _, u in people if u is not None})
    return orders, visitors, users


def remove_offline(runtime: Any, domain: str) -> SiteRemoval:
    """The whole removal on a runtime this process opened (no server holds the folder)."""
    removal = remove_configuration(runtime, domain)
    result: SiteRemoval = runtime.writer.submit(data_job(runtime, removal)).result()
    return result


def collectors_notice_s(runtime: Any) -> float:
    """How long collector processes may take to notice the change (their view refreshes every
    second): their logs are flushed after that, so nothing they accept of the site stays."""
    return 1.2 if getattr(runtime, "collectors", 0) else 0.0
