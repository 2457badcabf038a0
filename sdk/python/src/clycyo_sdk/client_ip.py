"""The end user's IP address behind reverse proxies, trusting forwarding headers only as told.

Anyone can send `X-Forwarded-For`; only the entries that the application's own proxies added are
true. So headers are ignored unless `trusted_proxies` is set: a number of proxy hops, or the
networks the proxies live in. The header to read is configured too, because a proxy that appends
one header passes a forged copy of another straight through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Callable, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
TrustedProxies = Union[None, int, Sequence[Union[str, Network]]]
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


class ProxyTrust:
    def __init__(self, trusted_proxies: TrustedProxies = None, header: str = "x-forwarded-for"):
        header = header.lower()
        if header not in PROXY_HEADERS:
            raise ValueError(f"proxy_header must be one of {', '.join(PROXY_HEADERS)}")
        self.header = header
        self.hops = 0
        self.networks: list[Network] = []
        if isinstance(trusted_proxies, bool):
            raise ValueError("trusted_proxies: give a number of hops or a list of networks")
        if isinstance(trusted_proxies, int):
            if trusted_proxies < 0:
                raise ValueError("trusted_proxies must be >= 0")
            self.hops = trusted_proxies
        elif isinstance(trusted_proxies, str):
            raise ValueError("trusted_proxies: give a list of networks, not one string")
        elif trusted_proxies is not None:
            self.networks = [ipaddress.ip_network(net, strict=False) for net in trusted_proxies]

    @property
    def enabled(self) -> bool:
        return bool(self.hops or self.networks)

    def client_ip(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """The end user's address; `headers` has lower-case names."""
        peer = normalize_ip(peer)
        if not self.enabled:
            return peer
        if self.networks and not self._is_trusted(peer):
            return peer  # not from our proxy: its forwarding headers could say anything
        chain = _chain(self.header, headers.get(self.header))
        if not chain:
            return peer
        if self.hops:
            # The last `hops` entries were written by our proxies; the nearest is the client.
            return normalize_ip(chain[-self.hops]) if len(chain) >= self.hops else peer
        for entry in reversed(chain):
            address = normalize_ip(entry)
            if not self._is_trusted(address):
                return address
        return normalize_ip(chain[0])

    def _is_trusted(self, address: str | None) -> bool:
        if address is None:
            return False
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self.networks)


def _chain(header: str, value: str | None) -> list[str]:
    if not value:
        return []
    parse: Callable[[str], list[str]] = _forwarded_for if header == "forwarded" else _comma_list
    return parse(value)


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _forwarded_for(value: str) -> list[str]:
    """The `for=` of each element of an RFC 7239 `Forwarded` header, in order."""
    found = []
    for element in value.split(","):
        for pair in element.split(";"):
            key, _, item = pair.partition("=")
            if key.strip().lower() == "for":
                found.append(item.strip().strip('"'))
    return found


def normalize_ip(value: str | None) -> str | None:
    """A valid address without port or brackets; None for `unknown`, obfuscated ids, garbage."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):  # "[2001:db8::1]:4711"
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:  # "192.0.2.1:4711"
        value = value.partition(":")[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)
