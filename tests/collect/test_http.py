"""The collect endpoints' HTTP plumbing: gzip bodies as RFC 1952 and RFC 9110 describe them."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from clycyo.collect import http, limits
from tests.serverproc import Site


def event(name: str) -> bytes:
    return json.dumps({"name": name, "event_id": name}).encode()


def test_every_gzip_member_is_inflated() -> None:
    assert http.inflate(gzip.compress(b'{"a":') + gzip.compress(b"1}")) == b'{"a":1}'
    assert http.inflate(gzip.compress(b"x") + gzip.compress(b"")) == b"x"


def test_the_limit_counts_every_member() -> None:
    half = gzip.compress(b" " * (limits.MAX_INFLATED_BYTES // 2))
    assert len(http.inflate(half + half)) == limits.MAX_INFLATED_BYTES
    with pytest.raises(http.BodyError) as refused:
        http.inflate(half + half + gzip.compress(b"x"))
    assert refused.value.status == 413


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (gzip.compress(b"{}") + b"trailing", "gzip body: bytes after the last gzip member"),
        (gzip.compress(b"{}") + gzip.compress(b"{}")[:-4], "gzip body is truncated"),
        (gzip.compress(b"{}") + b"\x1f\x8b\x07" + bytes(20), "gzip body cannot be inflated"),
    ],
)
def test_what_follows_the_last_member_must_be_gzip(body: bytes, error: str) -> None:
    with pytest.raises(http.BodyError) as refused:
        http.inflate(body)
    assert refused.value.status == 400
    assert refused.value.message.startswith(error)


def test_a_body_of_two_gzip_members_keeps_both_halves(server: Site) -> None:
    body = json.dumps({"batch": [json.loads(event("first")), json.loads(event("second"))]})
    middle = len(body) // 2
    compressed = gzip.compress(body[:middle].encode()) + gzip.compress(body[middle:].encode())
    status, answer = server.post(
        "/api/collect", compressed, secret=True, headers={"Content-Encoding": "gzip"}
    )
    assert (status, answer["accepted"]) == (200, 2), answer
    assert {e["name"] for e in server.events()} == {"first", "second"}


def test_x_gzip_is_gzip(server: Site) -> None:
    status, answer = server.post(
        "/api/collect",
        gzip.compress(event("old-name")),
        secret=True,
        headers={"Content-Encoding": "x-gzip"},
    )
    assert (status, answer["accepted"]) == (200, 1), answer


def test_a_deflate_body_is_refused_by_name(server: Site) -> None:
    status, answer = server.post(
        "/api/collect",
        zlib.compress(event("deflated")),
        secret=True,
        headers={"Content-Encoding": "deflate"},
    )
    assert status == 400 and answer == {"error": "unsupported Content-Encoding 'deflate'"}
