"""Which web origins belong to a site: its domain and its subdomains, on any scheme and port."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(url_or_origin: str) -> str | None:
    """The lowercase host of an origin or URL (`https://a.example.com:8443/x` → `a.example.com`)."""
    scheme_end = url_or_origin.find("://")
    if scheme_end < 0 or len(url_or_origin) > 8192:
        return _parsed_host(url_or_origin)
    start = scheme_end + 3
    end = len(url_or_origin)
    for stop in "/?#":
        found = url_or_origin.find(stop, start)
        if 0 <= found < end:
            end = found
    authority = url_or_origin[start:end]
    if "@" in authority or "[" in authority or "%" in authority or "\\" in authority:
        return _parsed_host(url_or_origin)  # unusual: let urllib decide
    return authority.partition(":")[0].lower().rstrip(".") or None


def _parsed_host(url_or_origin: str) -> str | None:
    try:
        host = urlsplit(url_or_origin).hostname
    except ValueError:
        return None
    return host or None


def belongs_to(host: str, domain: str) -> bool:
    """True when `host` is the site's domain or one of its subdomains (`www.` included)."""
    return host == domain or host.endswith("." + domain)


def candidate_domains(host: str) -> list[str]:
    """The host and its parent domains, most specific first, for looking up the site it is on."""
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)] or [host]
