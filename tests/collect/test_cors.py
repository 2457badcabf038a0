"""CORS of the collect endpoints (ours and the other clients' formats), on a real server: every
answer lets a page of a known site read it, whatever its status, and no other origin; every answer
varies by `Origin`. Origins are read strictly, as browsers send them."""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from clycyo import local_server
from tests.serverproc import ServerProcess, Site

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "CLYCYO_FAULT_INJECTION": "1",
        "CLYCYO_RATE_LIMIT_KEY": "1",  # a burst of 5 requests a key, then 429
        "CLYCYO_CLIENT_TIMEOUT": "1",
    }
    server = ServerProcess(tmp_path_factory.mktemp("cors") / "data", env=env).start()
    yield server
    server.stop()


@pytest.fixture
def site(strict_server: ServerProcess) -> Site:
    return strict_server.add_site()


def exchange(
    server: ServerProcess, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Message]:
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path,
        data=data,
        method=method,
        headers={"Content-Type": "text/plain", "User-Agent": CHROME, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status, response.headers
    except urllib.error.HTTPError as refused:
        refused.read()
        return refused.code, refused.headers


def assert_readable_by(headers: Message, origin: str | None) -> None:
    assert headers.get_all("Access-Control-Allow-Origin") == (None if origin is None else [origin])
    assert headers.get_all("Vary") == ["Origin"]


def page_of(site: Site) -> str:
    return f"https://www.{site.site}"


def pageview(site: Site) -> dict[str, Any]:
    return {"key": site.public_key, "type": "pageview", "url": f"{page_of(site)}/"}


def basic(site: Site) -> str:
    return "Basic " + base64.b64encode(f"{site.secret_key}:".encode()).decode()


def test_every_answer_of_api_collect_is_readable_by_a_sites_page(
    strict_server: ServerProcess, site: Site
) -> None:
    other = strict_server.add_site()
    origin = page_of(site)
    cases = [
        (200, "POST", pageview(site), {}),
        (400, "POST", b"{not json", {}),
        (401, "POST", {"key": "pk_unknown", "name": "x"}, {}),
        (413, "POST", {"key": site.public_key, "batch": [{"name": "x"}] * 501}, {}),
        (405, "GET", None, {}),
        # A page of another known site posting this site's key: refused, and told why.
        (403, "POST", pageview(other), {}),
    ]
    for status, method, body, headers in cases:
        answered, answer_headers = exchange(
            strict_server, method, "/api/collect", body, Origin=origin, **headers
        )
        assert answered == status, (status, body)
        assert_readable_by(answer_headers, origin)


def test_429_and_503_carry_cors_so_a_page_can_read_retry_after(
    strict_server: ServerProcess, site: Site
) -> None:
    origin = page_of(site)
    statuses = []
    for _ in range(8):
        status, headers = exchange(
            strict_server, "POST", "/api/collect", pageview(site), Origin=origin
        )
        statuses.append(status)
        if status == 429:
            break
    assert statuses[-1] == 429, statuses
    assert int(headers["Retry-After"]) > 0
    assert_readable_by(headers, origin)

    other = strict_server.add_site()
    admin = local_server.find(strict_server.data_dir)
    assert admin is not None
    admin.call("POST", "/api/admin/faults", {"intake": "No space left on device"})
    try:
        status, headers = exchange(
            strict_server, "POST", "/api/collect", pageview(other), Origin=page_of(other)
        )
    finally:
        admin.call("POST", "/api/admin/faults", {"intake": None})
    assert status == 503
    assert int(headers["Retry-After"]) > 0
    assert_readable_by(headers, page_of(other))


def test_a_408_carries_cors(strict_server: ServerProcess, site: Site) -> None:
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/collect HTTP/1.1\r\nHost: x\r\nOrigin: %s\r\nContent-Length: 100\r\n\r\n"
            % page_of(site).encode()
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head = received.partition(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("http/1.1 408 ")
    assert f"access-control-allow-origin: {page_of(site)}" in head
    assert "vary: origin" in head


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "https://evil.org\\@{site}",
        "https://evil.org%2F.{site}",
        "https://user@{site}",
        "https://{site}/page",
    ],
)
def test_no_other_origin_is_echoed_or_taken_for_the_sites(
    strict_server: ServerProcess, site: Site, origin: str
) -> None:
    origin = origin.format(site=site.site)
    status, headers = exchange(strict_server, "POST", "/api/collect", pageview(site), Origin=origin)
    assert status == 403
    assert_readable_by(headers, None)
    status, headers = exchange(strict_server, "OPTIONS", "/api/collect", Origin=origin)
    assert status == 204
    assert_readable_by(headers, None)
    # With the secret key an origin is not checked, and still not echoed unless it is a site's.
    status, headers = exchange(
        strict_server,
        "POST",
        "/api/collect",
        {"name": "backend"},
        Origin=origin,
        Authorization=f"Bearer {site.secret_key}",
    )
    assert status == 200
    assert_readable_by(headers, None)


def test_the_preflight_names_a_sites_page_and_varies_once(
    strict_server: ServerProcess, site: Site
) -> None:
    for path in ("/api/collect", "/api/event", "/v1/batch", "/e/"):
        status, headers = exchange(strict_server, "OPTIONS", path, Origin=page_of(site))
        assert status == 204
        assert_readable_by(headers, page_of(site))


def test_the_other_formats_answers_follow_the_same_rule(
    strict_server: ServerProcess, site: Site
) -> None:
    other = strict_server.add_site()
    origin = page_of(site)
    plausible = {"n": "pageview", "u": f"{origin}/", "d": site.site}
    cases = [
        (200, "/api/event", plausible, {}),
        (403, "/api/event", {**plausible, "u": f"{page_of(other)}/", "d": other.site}, {}),
        (400, "/api/event", b"{not json", {}),
        (200, "/v1/track", {"event": "e", "userId": "u"}, {"Authorization": basic(site)}),
        (401, "/v1/track", {"event": "e", "userId": "u"}, {}),
        (400, "/e/", b"\x00 not json", {}),
        (200, "/e/", {"event": "e", "distinct_id": "u", "api_key": site.secret_key}, {}),
    ]
    for status, path, body, headers in cases:
        answered, answer_headers = exchange(
            strict_server, "POST", path, body, Origin=origin, **headers
        )
        assert answered == status, (path, body)
        assert_readable_by(answer_headers, origin)
    # Plausible's 403 for a page of no site this server knows: refused, and not echoed.
    answered, answer_headers = exchange(
        strict_server, "POST", "/api/event", plausible, Origin="https://evil.example"
    )
    assert answered == 403
    assert_readable_by(answer_headers, None)


def test_a_public_key_event_on_a_url_a_browser_reads_as_another_host_is_rejected(
    strict_server: ServerProcess, site: Site
) -> None:
    for url in (f"https://evil.org\\@{site.site}/x", f"https://evil.org%2F.{site.site}/"):
        status, body = strict_server.request(
            "POST",
            "/api/collect",
            json.dumps({"key": site.public_key, "type": "pageview", "url": url}).encode(),
            {"Content-Type": "text/plain", "User-Agent": CHROME},
        )
        assert status == 200
        assert body["accepted"] == 0
        assert body["rejected"][0]["error"].startswith("url: a "), body
    assert site.events() == []
