"""Which HTTP proxy, if any, stands between the client and the collector.

Decided once, when the transport is made. An explicit `proxy=` wins (an empty string: none at
all). Otherwise the environment decides, read the way urllib and requests read it:
`urllib.request.getproxies()` (`HTTPS_PROXY` or `HTTP_PROXY` by the collector URL's scheme, in
either case; on macOS and Windows the system's settings when no variable is set) and
`urllib.request.proxy_bypass()` (`NO_PROXY`). Only http:// proxies: an https collector is reached
through a CONNECT tunnel, so TLS runs end to end and the proxy never sees the secret key.
This module does no I/O, and its errors never quote a proxy URL, which may hold a password.
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from typing import NamedTuple


class Proxy(NamedTuple):
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from the URL's user and password


def parse_proxy(url: str, *, source: str = "proxy") -> Proxy:
    """`http://[user:password@]host[:port]` (the scheme may be left out, as in the environment)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"{source} must be an http:// URL with a host name") from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ValueError(f"{source} must be an http:// URL with a host name")
    authorization = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}"
    return Proxy(parts.hostname, port, authorization)


def proxy_for(url: str, proxy: str | None = None) -> Proxy | None:
    """The proxy to reach `url` through: `proxy` when given ("" for none), else the
    environment's for the URL's scheme unless `NO_PROXY` names its host."""
    if proxy is not None:
        return parse_proxy(proxy) if proxy.strip() else None
    parts = urllib.parse.urlsplit(url)
    found = urllib.request.getproxies().get(parts.scheme)
    if not found:
        return None
    # As urllib: the host with its port, which NO_PROXY entries may name or leave out.
    if urllib.request.proxy_bypass(parts.netloc.rpartition("@")[2]):
        return None
    return parse_proxy(found, source=f"the {parts.scheme} proxy of the environment")
