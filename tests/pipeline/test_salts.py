"""Salts rotate daily with no traffic, and older than the previous day's are deleted."""

from __future__ import annotations

from pathlib import Path

from clycyo.config.store import ConfigStore
from clycyo.pipeline.salts import US_PER_DAY, SaltRing
from clycyo.runtime import Runtime, Settings


def test_rotation_keeps_today_and_yesterday_only(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    ring = SaltRing(config.salts(), on_new=config.save_salt)
    day = 20_000
    first, _ = ring.for_time(day * US_PER_DAY)
    second, previous = ring.for_time((day + 1) * US_PER_DAY)
    assert previous == first and second != first
    ring.for_time((day + 2) * US_PER_DAY)
    assert sorted(config.salts()) == [day + 1, day + 2]
    assert ring.days() == [day + 1, day + 2]


def test_the_server_makes_todays_salt_without_traffic(tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        stale = 1  # a salt from 1970 left behind
        runtime.config.save_salt(stale, b"x" * 16, keep_days=100_000)
        runtime.tick()
        days = sorted(runtime.config.salts())
        assert stale not in days and len(days) == 1
    finally:
        runtime.close()
