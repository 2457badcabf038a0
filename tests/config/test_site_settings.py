"""A site's currency and time zone are checked before the configuration store keeps them."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest

from clycyo.config import site_settings
from clycyo.config.site_settings import InvalidSetting, check_currency, check_timezone
from clycyo.config.store import ConfigStore


@pytest.mark.parametrize(("given", "kept"), [("EUR", "EUR"), ("eur", "EUR"), (" jpy ", "JPY")])
def test_a_currency_is_three_letters_kept_in_capitals(given: str, kept: str) -> None:
    assert check_currency(given) == kept


@pytest.mark.parametrize("given", ["", "EU", "EURO", "E1R", "€", "U$D", "EUT", "abc"])
def test_anything_else_is_no_currency(given: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        check_currency(given)
    assert caught.value.setting == "currency"
    assert "ISO 4217" in caught.value.reason


@pytest.mark.parametrize("given", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_iana_zones_are_kept(given: str) -> None:
    assert check_timezone(given) == given


@pytest.mark.parametrize("given", ["", "Mars/Olympus", "localtime", "../../etc/passwd", "+02:00"])
def test_other_names_are_no_zone(given: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        check_timezone(given)
    assert caught.value.setting == "timezone"


def test_a_zone_in_the_wrong_case_gets_a_suggestion() -> None:
    with pytest.raises(InvalidSetting, match="did you mean Europe/Berlin"):
        check_timezone("europe/berlin")


def test_without_a_zone_database_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site_settings._zones.cache_clear()
    monkeypatch.setattr(zoneinfo, "available_timezones", set)
    try:
        with pytest.raises(InvalidSetting, match="install the tzdata package"):
            check_timezone("Europe/Berlin")
    finally:
        site_settings._zones.cache_clear()


def test_the_store_checks_before_it_writes(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    created = config.add_site("shop.example", currency="eur", timezone="Europe/Berlin").site
    assert (created.currency, created.timezone) == ("EUR", "Europe/Berlin")
    assert config.site_by_id(created.id) == created
    with pytest.raises(InvalidSetting):
        config.add_site("other.example", timezone="Nowhere/Town")
    assert config.site_by_domain("other.example") is None
    with pytest.raises(InvalidSetting):
        config.update_site(created.id, currency="usd", timezone="Nowhere/Town")
    # Nothing of a refused change is kept, not even its valid half.
    assert config.site_by_id(created.id) == created
    config.update_site(created.id, currency="usd", timezone="Asia/Tokyo")
    updated = config.site_by_id(created.id)
    assert updated is not None and (updated.currency, updated.timezone) == ("USD", "Asia/Tokyo")
