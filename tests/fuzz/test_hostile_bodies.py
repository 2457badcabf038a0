"""Hand-written hostile requests: what a fuzzer rarely finds, on every collect endpoint.

Deep nesting, megabytes of garbage, invalid UTF-8, NUL bytes, gzip bombs and broken gzip, numbers
no field can hold, duplicate keys. Each is answered with a 2xx or 4xx (never 5xx), the valid events
of a mixed batch are kept, and the server is healthy afterwards.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from typing import Any

import pytest

from tests.fuzz.conftest import assert_still_healthy
from tests.serverproc import ServerProcess, Site

DEEP_LEVELS = 100_000
DEEP_ARRAY = b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
DEEP_OBJECT = b'{"a":' * DEEP_LEVELS + b"1" + b"}" * DEEP_LEVELS
WIRE_FORMAT_PATHS = ["/v1/batch", "/v1/track", "/batch/", "/capture/", "/e/", "/api/event"]


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def event_bodies(public_key: str) -> dict[str, bytes]:
    key = public_key.encode()
    return {
        "deep array batch": b'{"batch":' + DEEP_ARRAY + b"}",
        "deep array event": b'{"batch":[' + DEEP_ARRAY + b"]}",
        "deep public batch": b'{"key":"' + key + b'","batch":[' + DEEP_ARRAY + b"]}",
        "deep traits (5k)": b'{"type":"identify","user_id":"u","traits":' + deep(5000) + b"}",
        "deep traits in batch": b'{"batch":[{"type":"identify","user_id":"u","traits":'
        + deep(5000)
        + b"}]}",
        "deep object top": DEEP_OBJECT,
        "invalid utf-8 in a string": b'{"name":"a\xff\xfeb"}',
        "invalid utf-8 in a batch": b'{"batch":[{"name":"a\xff\xfeb"}]}',
        "raw NUL byte": b'{"name":"a\x00b"}',
        "escaped NUL": b'{"name":"a\\u0000b","props":{"k\\u0000":"v\\u0000"}}',
        "lone surrogate": b'{"name":"a\\ud800b"}',
        "huge integer": b'{"name":"x","timestamp":1' + b"0" * 400 + b"}",
        "huge float": b'{"name":"x","timestamp":1e308,"sent_at":-1e308}',
        "infinite amount": b'{"name":"x","revenue":{"amount":"1e999999999","currency":"EUR"}}',
        "tiny amount": b'{"name":"x","revenue":{"amount":"1e-999999999","currency":"EUR"}}',
        "NaN literal": b'{"name":"x","timestamp":NaN}',
        "big integer prop": b'{"name":"x","props":{"n":123456789012345678901234567890}}',
        "duplicate keys": b'{"name":"x","name":"y","event_id":"dup-keys","event_id":"again"}',
        "year 9999": b'{"name":"x","timestamp":"9999-12-31T23:59:59Z"}',
        "year 1": b'{"name":"x","timestamp":"0001-01-01T00:00:00Z"}',
        "broken url": b'{"name":"x","url":"http://[::1"}',
        "form field of escaped bytes": b"data=%E2%82%AC%FF%7B",
        "not an object": b'"just a string"',
        "empty": b"",
        "garbage 400 KB": os.urandom(400_000),
    }


def post(server: ServerProcess, path: str, body: bytes, headers: dict[str, str]) -> int:
    status, _ = server.request("POST", path, body, {"Content-Type": "application/json", **headers})
    return status


@pytest.mark.parametrize("secret", [True, False], ids=["secret key", "public key"])
def test_hostile_collect_bodies_are_never_5xx(
    fuzz_server: ServerProcess, fuzz_site: Site, secret: bool
) -> None:
    headers = {"Authorization": f"Bearer {fuzz_site.secret_key}"} if secret else {}
    answers = {
        name: post(fuzz_server, "/api/collect", body, headers)
        for name, body in event_bodies(fuzz_site.public_key).items()
    }
    assert {name: s for name, s in answers.items() if s >= 500} == {}
    assert answers["deep array batch"] == 400
    # A body that can be read is answered 200 (its event rejected), once the key is known.
    assert answers["invalid utf-8 in a string"] == (200 if secret else 401)
    assert answers["lone surrogate"] == (200 if secret else 401)


def test_hostile_bodies_on_every_wire_format(fuzz_server: ServerProcess, fuzz_site: Site) -> None:
    basic = base64.b64encode(f"{fuzz_site.secret_key}:".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    failures = {}
    for path in WIRE_FORMAT_PATHS:
        for name, body in event_bodies(fuzz_site.public_key).items():
            status = post(fuzz_server, path, body, headers)
            if status >= 500:
                failures[f"{path} {name}"] = status
    assert failures == {}


def test_size_limits_and_gzip(fuzz_server: ServerProcess, fuzz_site: Site) -> None:
    auth = {"Authorization": f"Bearer {fuzz_site.secret_key}"}
    gzip_headers = {**auth, "Content-Encoding": "gzip"}
    assert post(fuzz_server, "/api/collect", os.urandom(5_000_000), auth) == 413
    bomb = gzip.compress(b" " * 100_000_000, compresslevel=9)  # ~100 KB that inflates to 100 MB
    assert post(fuzz_server, "/api/collect", bomb, gzip_headers) == 413
    assert post(fuzz_server, "/api/collect", b"\x1f\x8b\x08\x00garbage", gzip_headers) == 400
    truncated = gzip.compress(json.dumps({"name": "x"}).encode())[:-6]
    assert post(fuzz_server, "/api/collect", truncated, gzip_headers) == 400
    assert post(fuzz_server, "/api/collect", os.urandom(1000), gzip_headers) == 400
    unknown = {**auth, "Content-Encoding": "br"}
    assert post(fuzz_server, "/api/collect", b"{}", unknown) == 400
    many = json.dumps({"batch": [{"name": "x"}] * 501}).encode()
    assert post(fuzz_server, "/api/collect", many, auth) == 413


def test_valid_events_of_a_mixed_batch_are_kept(
    fuzz_server: ServerProcess, fuzz_site: Site
) -> None:
    good = [{"name": "mixed_ok", "event_id": f"mixed-{n}"} for n in range(3)]
    bad: list[Any] = [
        {"name": 7},
        {"name": "x", "timestamp": 1e308},
        {"name": "x", "props": {"nested": {"no": 1}}},
        {"name": "x", "revenue": {"amount": "1e999999999", "currency": "EUR"}},
        [1, 2, 3],
    ]
    batch = [good[0], *bad[:2], good[1], *bad[2:], good[2]]
    raw = json.dumps({"batch": batch}).encode()
    # An event with invalid UTF-8 in the middle of the batch as well.
    raw = raw.replace(b'{"name": 7}', b'{"name": "bad\xff"}')
    status, body = fuzz_server.request(
        "POST",
        "/api/collect",
        raw,
        {"Content-Type": "application/json", "Authorization": f"Bearer {fuzz_site.secret_key}"},
    )
    assert status == 200, body
    assert body["accepted"] == 3
    assert sorted(r["index"] for r in body["rejected"]) == [1, 2, 4, 5, 6]
    stored = {e["event_id"] for e in fuzz_site.events(name="mixed_ok")}
    assert stored == {"mixed-0", "mixed-1", "mixed-2"}


def test_healthy_after_hostile_bodies(fuzz_server: ServerProcess, fuzz_site: Site) -> None:
    assert_still_healthy(fuzz_server, fuzz_site)
