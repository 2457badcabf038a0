"""Rate limits per source address and per key: 429 with Retry-After, others unaffected."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from clycyo.collect.ratelimit import BURST_S, Buckets, RateLimiter, source_of
from tests.serverproc import ServerProcess, Site

SOURCE_PER_S = 4  # on the test server: a bucket holds 4 * BURST_S requests per address
KEY_PER_S = 20


def test_a_bucket_allows_its_burst_then_refills() -> None:
    buckets = Buckets(rate_per_s=2)
    waits = [buckets.take("a", now_s=100.0) for _ in range(int(2 * BURST_S) + 1)]
    assert waits[:-1] == [0.0] * int(2 * BURST_S)
    assert waits[-1] == pytest.approx(0.5)
    assert buckets.take("b", now_s=100.0) == 0.0  # another key has its own bucket
    assert buckets.take("a", now_s=100.6) == 0.0  # refilled by 1.2 tokens


def test_sources_are_addresses_and_ipv6_slash_64s() -> None:
    assert source_of("203.0.113.9") == "203.0.113.9"
    assert source_of("2001:db8:1:2:aaaa::1") == source_of("2001:db8:1:2:bbbb::2")
    assert source_of("2001:db8:1:2::1") != source_of("2001:db8:1:3::1")
    assert source_of("::ffff:203.0.113.9") == "203.0.113.9"
    assert source_of("127.0.0.1") is None
    assert source_of("::1") is None
    assert source_of(None) is None


def test_limiter_answers_whole_seconds_and_counts_refusals() -> None:
    limiter = RateLimiter(source_per_s=1, key_per_s=0)
    waits = [limiter.source_wait_s("198.51.100.1") for _ in range(int(BURST_S) + 1)]
    assert waits[-1] >= 1 and set(waits[:-1]) == {0}
    assert limiter.key_wait_s(1, trusted=True) == 0  # 0 turns the key limit off
    assert limiter.refused["address"] == 1


@pytest.fixture
def limited(own_server: ServerProcess) -> ServerProcess:
    own_server.env["CLYCYO_RATE_LIMIT_SOURCE"] = str(SOURCE_PER_S)
    own_server.env["CLYCYO_RATE_LIMIT_KEY"] = str(KEY_PER_S)
    own_server.extra_args = ("--trusted-proxies", "1")
    return own_server.start()


def send(site: Site, path: str, body: object, headers: dict[str, str]) -> tuple[int, str | None]:
    request = urllib.request.Request(
        site.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After")


def test_per_source_limit(limited: ServerProcess) -> None:
    site = limited.add_site("limited-source.example")
    event = {"key": site.public_key, "type": "pageview", "url": "https://limited-source.example/"}
    flood = [
        send(site, "/api/collect", event, {"X-Forwarded-For": "203.0.113.5"}) for _ in range(40)
    ]
    refused = [retry for status, retry in flood if status == 429]
    assert refused, flood
    assert all(retry is not None and int(retry) >= 1 for retry in refused)
    # Another visitor is not affected; the same flood on a foreign wire format is refused too.
    assert send(site, "/api/collect", event, {"X-Forwarded-For": "198.51.100.7"})[0] == 200
    plausible = {"d": site.site, "n": "pageview", "u": "https://limited-source.example/"}
    assert send(site, "/api/event", plausible, {"X-Forwarded-For": "203.0.113.5"})[0] == 429
    metrics = limited.request("GET", "/metrics")[1].decode()
    counted = re.search(
        r'^clycyo_requests_rate_limited_total\{limit="address"\} (\d+)$', metrics, re.M
    )
    assert counted is not None and int(counted.group(1)) >= len(refused) + 1


def test_per_key_limit(limited: ServerProcess) -> None:
    noisy = limited.add_site("noisy.example")
    quiet = limited.add_site("quiet.example")
    secret = {"Authorization": f"Bearer {noisy.secret_key}"}
    # Well past the burst even if the machine is slow and the bucket refills meanwhile.
    requests = int(KEY_PER_S * BURST_S) + 150
    answers = [send(noisy, "/api/collect", {"name": "n"}, secret) for _ in range(requests)]
    assert any(status == 429 for status, _ in answers), answers
    assert all(retry for status, retry in answers if status == 429)
    # The Segment endpoint counts against the same key. (The bucket gains a request every
    # 50 ms: on a slow machine one may pass, not ten in a row.)
    segment = [send(noisy, "/v1/track", {"event": "n", "userId": "1"}, secret) for _ in range(10)]
    assert any(status == 429 for status, _ in segment), segment
    quiet_secret = {"Authorization": f"Bearer {quiet.secret_key}"}
    assert send(quiet, "/api/collect", {"name": "q"}, quiet_secret)[0] == 200
