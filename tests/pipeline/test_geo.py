"""`enrich_geo`: countries from the bundled registry data, regions and cities from an optional
MaxMind-format file, and no location (nor error) for private or malformed addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clycyo.model import Hit
from clycyo.pipeline.geo import enrich_geo, normalized_ip, open_city_reader
from tests.pipeline.factories import make_context, make_hit


def locate(ip: str | None, reader: Any = None) -> Hit:
    ctx = make_context()
    ctx.city_reader = reader
    hit = enrich_geo(make_hit(ip=ip), ctx)
    assert isinstance(hit, Hit)
    return hit


# Long-standing allocations: Google's public resolvers, Deutsche Telekom's address blocks,
# heise.de, and APNIC's research block with Cloudflare's resolver.
@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("2001:4860:4860::8888", "US"),
        ("80.128.0.1", "DE"),
        ("2003::1", "DE"),
        ("193.99.144.80", "DE"),
        ("1.1.1.1", "AU"),
        ("::ffff:8.8.8.8", "US"),
        ("[2001:4860:4860::8888]", "US"),
    ],
)
def test_public_addresses_get_their_country(ip: str, country: str) -> None:
    assert locate(ip).country == country


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "100.64.0.1",
        "169.254.1.1",
        "::1",
        "fe80::1%eth0",
        "fd00::1",
        "2001:db8::1",
        "not an address",
        "999.1.1.1",
        "",
        None,
    ],
)
def test_private_reserved_and_malformed_addresses_have_no_location(ip: str | None) -> None:
    hit = locate(ip)
    assert (hit.country, hit.region, hit.city) == (None, None, None)


def test_address_forms_are_normalized() -> None:
    assert normalized_ip("::FFFF:1.2.3.4") == "1.2.3.4"
    assert normalized_ip("[2001:db8::1]:443") == "2001:db8::1"
    assert normalized_ip("fe80::1%eth0") == "fe80::1"
    assert normalized_ip("::ffff:0:1") == "::ffff:0:1"  # not IPv4-mapped text


@pytest.fixture
def city_file(tmp_path: Path) -> Path:
    mmdb_writer: Any = pytest.importorskip("mmdb_writer")
    netaddr: Any = pytest.importorskip("netaddr")
    writer = mmdb_writer.MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Test-City")
    writer.insert_network(
        netaddr.IPSet(["81.0.0.0/16"]),
        {
            "country": {"iso_code": "DE"},
            "subdivisions": [{"iso_code": "BE", "names": {"en": "Berlin"}}],
            "city": {"names": {"de": "Berlin", "en": "Berlin"}},
        },
    )
    writer.insert_network(
        netaddr.IPSet(["2a01:100::/32"]),
        {"country": {"iso_code": "fr"}, "subdivisions": [{"names": {"en": "Brittany"}}]},
    )
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    return path


def test_a_city_file_adds_region_and_city(city_file: Path) -> None:
    reader = open_city_reader(city_file)
    try:
        hit = locate("81.0.3.4", reader)
        assert (hit.country, hit.region, hit.city) == ("DE", "DE-BE", "Berlin")
        hit = locate("2a01:100::7", reader)
        assert (hit.country, hit.region, hit.city) == ("FR", "Brittany", None)
        # Not in the file: the bundled country data still answers.
        hit = locate("8.8.8.8", reader)
        assert (hit.country, hit.region, hit.city) == ("US", None, None)
        hit = locate("192.168.0.1", reader)
        assert (hit.country, hit.region, hit.city) == (None, None, None)
        hit = locate("garbage", reader)
        assert (hit.country, hit.region, hit.city) == (None, None, None)
    finally:
        reader.close()


def test_a_file_that_is_not_a_maxmind_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not.mmdb"
    path.write_bytes(b"no metadata here" * 64)
    with pytest.raises(ValueError, match="not a MaxMind DB file"):
        open_city_reader(path)
