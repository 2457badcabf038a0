"""A site's shields: rules that keep traffic out of its numbers, in the configuration store.

Four kinds, as Plausible's shields: `ip` (an address or a CIDR range, IPv4 or IPv6), `country`
(ISO 3166-1 alpha-2, as `enrich_geo` sets it), `page` (a page path pattern, `*` and `**` as page
goals read them) and `hostname` (the page URL's host; `*.example.com` stands for its
subdomains). The first three block what they match; hostname rules allow: once a site has one,
only pages of the hosts they name count. A rule is kept exactly as validated here
(`check_value`); applying them is the pipeline's `filter_excluded` (`pipeline/shields.py`).
An `ip` rule is an address the operator chose to store; it is never matched against stored
events (they have no address). The table is kept as page goals' is (`config/site_rows.py`).
This module computes nothing else and caches nothing: the server's view is
`config/directory.py`'s, refreshed when the store changes.
"""

from __future__ import annotations

import builtins
import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from clycyo.collect.origins import belongs_to
from clycyo.config.goals import GoalError, check_pattern
from clycyo.config.site_rows import SiteRows

SCHEMA = """
CREATE TABLE IF NOT EXISTS shields (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (site_id, kind, value)
);
"""
KINDS = ("ip", "country", "page", "hostname")
MAX_RULES_PER_KIND = 30  # per site, as Plausible allows
MAX_VALUE_CHARS = 200
# Registry codes `enrich_geo` never sets: they name a region, not a country.
_NOT_COUNTRIES = frozenset({"EU", "AP"})
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")


class ShieldError(ValueError):
    """A rule that cannot be saved (the message says why)."""


@dataclass(frozen=True)
class Shield:
    id: int
    site_id: int
    kind: str
    value: str


def check_ip(value: str) -> str:
    """An address or a CIDR range as `ipaddress` writes it (a range by its first address)."""
    text = value.strip()
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            mapped = getattr(network.network_address, "ipv4_mapped", None)
            if mapped is not None and network.prefixlen >= 96:
                network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
            return str(network)
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ShieldError(
            f"ip: {value!r} is not an IP address or CIDR range"
            " (such as 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32)"
        ) from None
    if getattr(address, "scope_id", None):
        raise ShieldError(f"ip: {value!r} names a network interface; give the address alone")
    # Dual-stack servers see IPv4 clients as ::ffff:a.b.c.d; the pipeline reads them as IPv4.
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def check_country(value: str) -> str:
    # Checked before upper-casing, which makes two letters of some one ("ß" is "SS").
    code = value.strip()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ShieldError(f"country: {value!r} is not an ISO 3166-1 alpha-2 code (such as DE)")
    code = code.upper()
    if code in _NOT_COUNTRIES:
        raise ShieldError(f"country: {code} names a region, and no visitor gets it as a country")
    return code


def check_page(value: str) -> str:
    try:
        return check_pattern(value)
    except GoalError as exc:
        raise ShieldError("page: " + str(exc).removeprefix("pattern: ")) from None


def check_hostname(value: str, domain: str) -> str:
    """The host lower case, without `www.` (as events' hostnames are kept), of `domain`."""
    host = value.strip().lower().rstrip(".")
    wildcard = host.startswith("*.")
    name = host[2:] if wildcard else host
    if not name or not set(name) <= _HOST_CHARS or ".." in name:
        raise ShieldError(
            f"hostname: {value!r} is not a host name (such as app.{domain} or *.{domain})"
        )
    if not wildcard:
        name = name.removeprefix("www.") or name
    if not belongs_to(name, domain):
        raise ShieldError(f"hostname: {name} is not a host of {domain}")
    return f"*.{name}" if wildcard else name


def check_value(kind: str, value: str, domain: str) -> str:
    """The rule's value as it is kept, or `ShieldError` saying what is wrong with it."""
    if len(value) > MAX_VALUE_CHARS:
        raise ShieldError(f"{kind}: at most {MAX_VALUE_CHARS} characters")
    if kind == "ip":
        return check_ip(value)
    if kind == "country":
        return check_country(value)
    if kind == "page":
        return check_page(value)
    if kind == "hostname":
        return check_hostname(value, domain)
    raise ShieldError(f"no kind of rule {kind!r}: one of {', '.join(KINDS)}")


class ShieldStore(SiteRows):
    """Every site's shields."""

    TABLE = "shields"
    SCHEMA = SCHEMA
    COLUMNS = "id, site_id, kind, value"

    def add(self, site_id: int, domain: str, kind: str, value: str) -> Shield:
        value = check_value(kind, value, domain)
        with self._adding() as db:
            saved = [row[3] for row in self._rows(db, site_id) if row[2] == kind]
            if value in saved:
                raise ShieldError(f"{kind}: the site has the rule {value} already")
            if len(saved) >= MAX_RULES_PER_KIND:
                raise ShieldError(f"a site has at most {MAX_RULES_PER_KIND} {kind} rules")
            cursor = db.execute(
                "INSERT INTO shields (site_id, kind, value, created_at) VALUES (?, ?, ?, ?)",
                (site_id, kind, value, time.time()),
            )
        return Shield(int(cursor.lastrowid or 0), site_id, kind, value)

    def list(self, site_id: int) -> builtins.list[Shield]:
        return [_shield(row) for row in self._read(site_id)]

    def all(self) -> builtins.list[Shield]:
        """Every site's rules, as a server loads them at once."""
        return [_shield(row) for row in self._read(None)]


def _shield(row: tuple[Any, ...]) -> Shield:
    return Shield(int(row[0]), int(row[1]), str(row[2]), str(row[3]))
