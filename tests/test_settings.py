"""Process settings from the command line and the environment: the DuckDB memory limit, the
client timeout, the rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from clycyo.runtime import Runtime
from clycyo.settings import Settings, memory_size
from clycyo.store.open import open_store
from tests.serverproc import free_port, run_clycyo


@pytest.mark.parametrize(
    ("given", "kept"),
    [("512MB", "512MB"), ("2GiB", "2GiB"), (" 1.5 gb ", "1.5gb"), ("64KiB", "64KiB")],
)
def test_memory_sizes_are_taken_as_duckdb_reads_them(given: str, kept: str) -> None:
    assert memory_size(given) == kept


@pytest.mark.parametrize("given", ["512", "MB", "-1MB", "1 PB", "lots", "80%"])
def test_a_memory_size_without_a_known_unit_is_refused_naming_the_setting(given: str) -> None:
    with pytest.raises(ValueError, match=r"--memory-limit, CLYCYO_MEMORY_LIMIT"):
        memory_size(given)


def test_the_environment_sets_the_limit_and_the_option_overrides_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLYCYO_MEMORY_LIMIT", "300MB")
    assert Settings.from_env(tmp_path).memory_limit == "300MB"
    assert Settings.from_env(tmp_path, memory_limit="1GB").memory_limit == "1GB"
    monkeypatch.delenv("CLYCYO_MEMORY_LIMIT")
    assert Settings.from_env(tmp_path).memory_limit is None


def test_the_event_store_runs_under_the_limit(tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data", memory_limit="200MB"))
    try:
        assert runtime.store.execute("SELECT current_setting('memory_limit')") == [("190.7 MiB",)]
    finally:
        runtime.close()
    unbounded = Runtime.open(Settings(data_dir=tmp_path / "other"))
    try:
        [(default,)] = unbounded.store.execute("SELECT current_setting('memory_limit')")
        assert default != "190.7 MiB"
    finally:
        unbounded.close()


def test_serve_refuses_a_bad_limit_before_it_opens_anything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_clycyo("serve", "--memory-limit", "lots", data=data)
    assert result.returncode == 2
    assert "memory limit 'lots' (--memory-limit, CLYCYO_MEMORY_LIMIT)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists()


def test_a_clickhouse_store_says_the_limit_is_not_its_own(
    tmp_path: Path, chdb_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"chdb://{chdb_folder}?database=memory_limit"
    store = open_store(url, tmp_path / "data", memory_limit="256MB")
    try:
        assert "applies to DuckDB only" in caplog.text
    finally:
        store.close()


def test_the_client_timeout_comes_from_the_environment_and_must_be_seconds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings.from_env(tmp_path).client_timeout_s == 30
    monkeypatch.setenv("CLYCYO_CLIENT_TIMEOUT", "2.5")
    assert Settings.from_env(tmp_path).client_timeout_s == 2.5
    for bad in ("0", "1e-9", "0.4", "-1", "nan", "inf", "86400"):
        monkeypatch.setenv("CLYCYO_CLIENT_TIMEOUT", bad)
        with pytest.raises(ValueError, match="CLYCYO_CLIENT_TIMEOUT"):
            Settings.from_env(tmp_path)


def test_the_core_timeout_is_a_number_of_seconds_more_than_0(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings.from_env(tmp_path).core_timeout_s == 300
    monkeypatch.setenv("CLYCYO_CORE_TIMEOUT", "1.5")
    assert Settings.from_env(tmp_path).core_timeout_s == 1.5
    for bad in ("0", "-1", "nan", "inf"):
        monkeypatch.setenv("CLYCYO_CORE_TIMEOUT", bad)
        with pytest.raises(ValueError, match="CLYCYO_CORE_TIMEOUT"):
            Settings.from_env(tmp_path)


RATE_VARIABLES = ("CLYCYO_RATE_LIMIT_SOURCE", "CLYCYO_RATE_LIMIT_KEY")


def test_the_rate_limits_are_0_or_more_requests_a_second(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLYCYO_RATE_LIMIT_SOURCE", "0")
    monkeypatch.setenv("CLYCYO_RATE_LIMIT_KEY", "2.5")
    settings = Settings.from_env(tmp_path)
    assert (settings.rate_limit_source_per_s, settings.rate_limit_key_per_s) == (0, 2.5)
    for variable in RATE_VARIABLES:
        for bad in ("-1", "-0.5", "nan", "inf"):
            monkeypatch.setenv(variable, bad)
            with pytest.raises(ValueError, match=f"^{variable}: .* 0 \\(no limit\\) or more$"):
                Settings.from_env(tmp_path)
        monkeypatch.setenv(variable, "0")


@pytest.mark.parametrize("variable", RATE_VARIABLES)
def test_serve_refuses_a_negative_rate_limit_in_one_line(tmp_path: Path, variable: str) -> None:
    data = tmp_path / "data"
    result = run_clycyo("serve", "--port", str(free_port()), data=data, env={variable: "-5"})
    assert result.returncode == 2
    assert result.stderr == (
        f"clycyo: {variable}: -5 is not a number of requests per second, 0 (no limit) or more\n"
    )
    assert not data.exists()
