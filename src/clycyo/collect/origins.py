"""Which web origins belong to a site: its domain and its subdomains, on any scheme and port."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(url_or_origin: str) -> str | None:
    """The lowercase host of an origin or URL (`https://a.example.com:8443/x` → `a.example.com`)."""
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
