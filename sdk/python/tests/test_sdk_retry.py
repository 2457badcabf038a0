"""The retry policy: which failures are retried, and how long the waits are."""

from __future__ import annotations

import email.utils

import pytest

from clycyo_sdk.retry import RetryPolicy, is_retryable, parse_retry_after


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504, 599])
def test_network_errors_408_429_and_5xx_are_retried(status: int | None) -> None:
    assert is_retryable(status)


@pytest.mark.parametrize("status", [200, 204, 301, 400, 401, 403, 404, 409, 413, 422])
def test_everything_else_is_final(status: int) -> None:
    assert not is_retryable(status)


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7", now_s=0) == 7.0
    assert parse_retry_after(" 1.5 ", now_s=0) == 1.5
    assert parse_retry_after("-3", now_s=0) == 0.0
    now_s = 1_800_000_000.0
    date = email.utils.formatdate(now_s + 30, usegmt=True)
    assert parse_retry_after(date, now_s=now_s) == pytest.approx(30, abs=1)
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad, now_s=now_s) is None


def test_backoff_doubles_then_stops_at_the_cap() -> None:
    policy = RetryPolicy(backoff_base_s=0.5, max_backoff_s=30.0)
    upper = [policy.delay_s(n, rand=lambda: 1.0) for n in range(10)]
    assert upper == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert policy.delay_s(10_000, rand=lambda: 1.0) == 30.0  # no overflow however long


def test_backoff_is_jittered_between_half_and_all_of_the_step() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, max_backoff_s=60.0)
    assert policy.delay_s(3, rand=lambda: 0.0) == 4.0
    assert policy.delay_s(3, rand=lambda: 0.5) == 6.0
    assert policy.delay_s(3, rand=lambda: 1.0) == 8.0


def test_retry_after_is_a_floor_with_a_little_jitter_and_its_own_cap() -> None:
    policy = RetryPolicy(backoff_base_s=0.5, max_backoff_s=30.0, max_retry_after_s=120.0)
    assert policy.delay_s(0, retry_after_s=5.0, rand=lambda: 0.0) == 5.0
    assert policy.delay_s(0, retry_after_s=5.0, rand=lambda: 1.0) == pytest.approx(5.5)
    # A shorter Retry-After does not shorten the backoff.
    assert policy.delay_s(5, retry_after_s=1.0, rand=lambda: 0.0) == 8.0
    assert policy.delay_s(0, retry_after_s=10_000.0, rand=lambda: 0.0) == 120.0


def test_policy_refuses_negative_settings() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(max_backoff_s=-1)
