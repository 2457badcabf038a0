"""Which web origins belong to a site: its domain and its subdomains, on any scheme and port.

Hosts are read the way browsers read them, so that an origin or a page URL cannot name one host
to Clycyo and another to the browser that sent it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from clycyo.config.directory import SiteDirectory

# What a browser sends as `Origin`: scheme://host[:port], the host in ASCII (or an IPv6 address
# in brackets), nothing else.
_ORIGIN = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::[0-9]{1,5})?"
)
_CACHED_ORIGIN_CHARS = 256


def origin_host(origin: str) -> str | None:
    """The lowercase host of an `Origin` header (`https://a.example.com:8443` → `a.example.com`);
    None for anything but scheme://host[:port] (`null`, a user, a path, a backslash, `%`)."""
    if len(origin) > _CACHED_ORIGIN_CHARS:
        return _origin_host(origin)
    return _cached_origin_host(origin)


def _origin_host(origin: str) -> str | None:
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        return None
    return (match[1] or match[2]).lower().rstrip(".") or None


# Every answer of the collect endpoints asks, and most come from a few sites' pages.
_cached_origin_host = lru_cache(maxsize=1024)(_origin_host)


def known_origin(origin: bytes, directory: SiteDirectory) -> bool:
    """True when `origin` is a page of a site this server collects for (`known_host`)."""
    host = origin_host(origin.decode("latin-1"))
    return host is not None and known_host(host, directory)


def known_host(host: str, directory: SiteDirectory) -> bool:
    """True when `host`, or one of its parent domains short of the top-level one, is a site's
    domain."""
    while True:
        if directory.by_domain(host) is not None:
            return True
        dot = host.find(".")
        if dot < 0 or host.find(".", dot + 1) < 0:
            return False  # no parent domain left that is more than a top-level one
        host = host[dot + 1 :]


def host_of(url: str) -> str | None:
    """The lowercase host of a URL (`https://a.example.com:8443/x` → `a.example.com`), None when
    there is none or a browser would not read it as written (a `%` in it)."""
    scheme_end = url.find("://")
    if scheme_end < 0 or len(url) > 8192:
        return _parsed_host(url)
    start = scheme_end + 3
    end = len(url)
    # A backslash ends the host as a slash does: browsers read `https://a.org\@b.com` as a.org.
    for stop in "/?#\\":
        found = url.find(stop, start)
        if 0 <= found < end:
            end = found
    host = url[start:end].rpartition("@")[2]
    if "%" in host:
        return None  # a browser decodes it, or refuses the URL: not the host as written
    if "[" in host:
        return _parsed_host(url[:end])  # an IPv6 address: let urllib read it
    return host.partition(":")[0].lower().rstrip(".") or None


def _parsed_host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host or None


def ambiguous_host(url: str) -> str | None:
    """Why a browser would read the host of an http(s) `url` otherwise than as written (a
    backslash or a `%` before the path), or None. Such a URL is no page a browser was on."""
    if "\\" not in url and "%" not in url:
        return None
    start = url.find("://") + 3
    end = len(url)
    for stop in "/?#":
        found = url.find(stop, start)
        if 0 <= found < end:
            end = found
    authority = url[start:end]
    if "\\" in authority:
        return "a backslash in the host part (browsers read it as a slash)"
    if "%" in authority.rpartition("@")[2]:
        return "a percent escape in the host"
    return None


def belongs_to(host: str, domain: str) -> bool:
    """True when `host` is the site's domain or one of its subdomains (`www.` included)."""
    return host == domain or host.endswith("." + domain)
