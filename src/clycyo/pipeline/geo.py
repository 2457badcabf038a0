"""The `enrich_geo` step: the visitor's country (and, optionally, region and city) from the IP.

Countries come offline from the `iptocc` package, which embeds the five Regional Internet
Registries' allocation data (the country a block is registered to; IPv4 and IPv6). When the
operator supplies a MaxMind-format city database (`--geoip PATH` or `CLYCYO_GEOIP_DB`; GeoLite2
City and DB-IP City Lite use this format), its answer is used instead, with the region as an
ISO 3166-2 code ("DE-BE") and the city's English name.

Private, loopback, reserved and unparsable addresses give no location and no error. This step
only adds fields and never keeps the address: dropping it is `minimize`'s job, and nothing here
caches or logs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import iptocc
import maxminddb

from clycyo.model import Drop, Hit
from clycyo.pipeline.context import Context

# Registry codes that name a region, not a country: "EU" (RIPE, Europe-wide) and "AP" (APNIC,
# Asia-Pacific) are not ISO 3166-1 country codes and would show as a country nobody lives in.
_NOT_COUNTRIES = frozenset({"EU", "AP"})
_MAPPED_V4_PREFIX = "::ffff:"


def normalized_ip(ip: str) -> str:
    """The address as the look-ups expect it: no brackets, zone or IPv4-mapped IPv6 prefix."""
    if ip.startswith("["):
        ip = ip[1 : ip.find("]")]
    if "%" in ip:
        ip = ip[: ip.find("%")]
    # Dual-stack servers report IPv4 clients as ::ffff:a.b.c.d.
    if ip[:7].lower() == _MAPPED_V4_PREFIX and "." in ip:
        ip = ip[7:]
    return ip


def country_of(ip: str) -> str | None:
    """ISO 3166-1 alpha-2 country of a public address from the bundled data, else None."""
    code = iptocc.country_code(ip)
    if code is None or code in _NOT_COUNTRIES:
        return None
    return str(code).upper()


def open_city_reader(path: str | os.PathLike[str]) -> maxminddb.Reader:
    """Open an operator-provided MaxMind-format database, read-only (memory-mapped if possible)."""
    try:
        return maxminddb.open_database(os.fspath(path), maxminddb.MODE_AUTO)
    except maxminddb.InvalidDatabaseError as exc:
        raise ValueError(f"{os.fspath(path)}: not a MaxMind DB file ({exc})") from None


def _english_name(record: Mapping[str, Any]) -> str | None:
    names = record.get("names")
    if not isinstance(names, Mapping):
        return None
    name = names.get("en") or next(iter(names.values()), None)
    return name if isinstance(name, str) else None


def city_location(reader: Any, ip: str) -> tuple[str | None, str | None, str | None]:
    """(country, region, city) from a MaxMind-format reader; Nones when it does not know."""
    try:
        record = reader.get(ip)
    except ValueError:  # not an IP address
        return None, None, None
    if not isinstance(record, Mapping):
        return None, None, None
    country = record.get("country")
    code = country.get("iso_code") if isinstance(country, Mapping) else None
    country_code = code.upper() if isinstance(code, str) else None
    region = None
    subdivisions = record.get("subdivisions")
    if isinstance(subdivisions, list) and subdivisions and isinstance(subdivisions[0], Mapping):
        first = subdivisions[0]
        sub_code = first.get("iso_code")
        if isinstance(sub_code, str) and country_code:
            region = f"{country_code}-{sub_code.upper()}"
        else:
            region = _english_name(first)
    city = record.get("city")
    return country_code, region, _english_name(city) if isinstance(city, Mapping) else None


def enrich_geo(hit: Hit, ctx: Context) -> Hit | Drop:
    ip = hit.ip
    if not ip:
        return hit
    ip = normalized_ip(ip)
    reader = ctx.city_reader
    if reader is not None:
        country, hit.region, hit.city = city_location(reader, ip)
        # The operator's database says where a block is used, which beats where it is registered.
        hit.country = country or country_of(ip)
    else:
        hit.country = country_of(ip)
    return hit
