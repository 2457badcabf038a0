"""The server's cached view of the configuration store, for lookups on the hot path.

Keys and sites are looked up in memory; a miss asks SQLite once (so a site added by the CLI works
at once) and an unknown key is remembered as unknown for a moment, so a flood of bad keys does not
become a flood of SQLite queries. `refresh()`, called every second by the server, drops every
cache when another process changed the store (a revoked key stops working within a second).
Every site's shields are read at once, in one query, on the first event after such a change, and
compiled for the pipeline (`pipeline/shields.py`); a site without rules has no entry.
"""

from __future__ import annotations

import time

from clycyo.config.shields import Shield, ShieldStore
from clycyo.config.store import ConfigStore, Site
from clycyo.pipeline.shields import SiteShields

_NEGATIVE_TTL_S = 1.0


class SiteDirectory:
    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self._version = store.data_version()
        self._by_public: dict[str, Site | None] = {}
        self._by_secret: dict[str, Site | None] = {}
        self._by_domain: dict[str, Site | None] = {}
        self._by_id: dict[int, Site | None] = {}
        self._misses_at: dict[str, float] = {}
        self._shields: dict[int, SiteShields] | None = None

    def refresh(self) -> bool:
        """Drop the caches if the store changed since the last call; True if it did."""
        version = self.store.data_version()
        if version == self._version:
            return False
        self._version = version
        self.clear()
        return True

    def clear(self) -> None:
        self._by_public.clear()
        self._by_secret.clear()
        self._by_domain.clear()
        self._by_id.clear()
        self._misses_at.clear()
        self._shields = None

    def _recent_miss(self, key: str) -> bool:
        missed = self._misses_at.get(key)
        return missed is not None and time.monotonic() - missed < _NEGATIVE_TTL_S

    def _miss(self, key: str) -> None:
        if len(self._misses_at) > 10_000:
            self._misses_at.clear()
        self._misses_at[key] = time.monotonic()

    def by_public_key(self, public_key: str) -> Site | None:
        site = self._by_public.get(public_key)
        if site is not None or self._recent_miss(public_key):
            return site
        site = self.store.site_by_public_key(public_key)
        if site is None:
            self._miss(public_key)
        else:
            self._by_public[public_key] = site
        return site

    def by_secret_key(self, secret_key: str) -> Site | None:
        site = self._by_secret.get(secret_key)
        if site is not None or self._recent_miss(secret_key):
            return site
        site = self.store.site_by_secret_key(secret_key)
        if site is None:
            self._miss(secret_key)
        else:
            self._by_secret[secret_key] = site
        return site

    def by_domain(self, domain: str) -> Site | None:
        site = self._by_domain.get(domain)
        if site is not None or self._recent_miss("d:" + domain):
            return site
        try:
            site = self.store.site_by_domain(domain)
        except ValueError:
            site = None
        if site is None:
            self._miss("d:" + domain)
        else:
            self._by_domain[domain] = site
        return site

    def by_id(self, site_id: int) -> Site | None:
        if site_id not in self._by_id:
            self._by_id[site_id] = self.store.site_by_id(site_id)
        return self._by_id[site_id]

    def retention_days(self, site_id: int) -> int | None:
        """The site's `retention_days` (None: it keeps everything), for the pipeline."""
        site = self.by_id(site_id)
        return None if site is None else site.retention_days

    def shields(self, site_id: int) -> SiteShields | None:
        """The site's compiled shields, None when it has no rules, for the pipeline."""
        shields = self._shields
        if shields is None:
            shields = self._shields = _compiled(ShieldStore(self.store).all())
        return shields.get(site_id)


def _compiled(rules: list[Shield]) -> dict[int, SiteShields]:
    by_site: dict[int, list[Shield]] = {}
    for rule in rules:
        by_site.setdefault(rule.site_id, []).append(rule)
    return {site_id: SiteShields.of(site_rules) for site_id, site_rules in by_site.items()}
