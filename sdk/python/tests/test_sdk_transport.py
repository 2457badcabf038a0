"""The HTTP transport against a real collector on 127.0.0.1: failures, retries, keep-alive."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from clycyo_sdk import Client
from clycyo_sdk.transport import HTTPTransport, collect_url
from sdk_doubles import Collector, MakeClient


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api/collect"),
        ("https://stats.example.com/", "https://stats.example.com/api/collect"),
        ("https://example.com/clycyo/", "https://example.com/clycyo/api/collect"),
        ("http://[::1]:8000", "http://[::1]:8000/api/collect"),
    ],
)
def test_collect_url(host: str, url: str) -> None:
    assert collect_url(host) == url


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "ftp://x", "http://"])
def test_collect_url_refuses_what_is_not_http(host: str) -> None:
    with pytest.raises(ValueError, match="http"):
        collect_url(host)


def test_503_with_retry_after_then_accept_loses_and_duplicates_nothing(
    collector: Collector, make_client: MakeClient
) -> None:
    collector.fail_first = 2
    collector.retry_after = "1"
    client = make_client(transport=None, host=collector.url, flush_at=10, flush_interval_s=0.05)
    started = time.monotonic()
    for i in range(25):
        client.track("order", props={"i": i})
    assert client.flush(20)
    assert time.monotonic() - started >= 2.0  # two waits of Retry-After: 1
    assert sorted(e["props"]["i"] for e in collector.events.values()) == list(range(25))
    assert collector.duplicates == 0
    assert client.stats()["sent"] == 25
    assert client.failed == 0
    assert len(collector.connections) == 1  # 503 answers keep the connection alive


def test_answers_lost_on_the_wire_are_retried_and_counted_once(
    collector: Collector, make_client: MakeClient
) -> None:
    collector.unanswered_first = 1
    client = make_client(transport=None, host=collector.url, backoff_base_s=0.01)
    for i in range(5):
        client.track("paid", order_id=f"o{i}")
    assert client.flush(10)
    assert len(collector.events) == 5
    assert collector.duplicates == 5  # the retry arrived, and the collector counted it once
    assert client.stats()["duplicates"] == 5


def test_connection_refused_is_retried_until_the_collector_is_up(make_client: MakeClient) -> None:
    late = Collector()
    port = late.server.server_address[1]
    late.stop()  # nothing listens on the port now
    client = make_client(
        transport=None, host=f"http://127.0.0.1:{port}", backoff_base_s=0.05, max_backoff_s=0.1
    )
    client.track("early")
    time.sleep(0.3)
    assert client.failed == 0  # still retrying
    assert client.flush(0.01) is False
    client.shutdown(0.5)
    assert client.failed == 1


def test_the_connection_is_kept_alive_across_batches(
    collector: Collector, make_client: MakeClient
) -> None:
    client = make_client(transport=None, host=collector.url, flush_at=1)
    for i in range(5):
        client.track("e", props={"i": i})
        assert client.flush(5)
    assert collector.requests == 5
    assert len(collector.connections) == 1


def test_a_closed_connection_is_reopened(collector: Collector, make_client: MakeClient) -> None:
    collector.close_after_answer = True
    client = make_client(transport=None, host=collector.url, flush_at=1)
    for i in range(3):
        client.track("e", props={"i": i})
        assert client.flush(5)
    assert len(collector.connections) == 3
    assert len(collector.events) == 3


def test_an_idle_connection_closed_by_the_server_is_reopened_without_a_retry(
    collector: Collector,
) -> None:
    collector.close_silently_after_answer = True
    transport = HTTPTransport(collector.url + "/api/collect", timeout_s=5)
    body = b'{"batch":[{"type":"event","name":"a","event_id":"1"}],"sent_at":1}'
    assert transport.send(body, {"Content-Type": "application/json"}).status == 200
    time.sleep(0.1)  # the server has closed its end by now
    body2 = body.replace(b'"1"', b'"2"')
    assert transport.send(body2, {"Content-Type": "application/json"}).status == 200
    assert set(collector.events) == {"1", "2"}
    transport.close()


def test_a_request_cut_off_without_answer_raises(collector: Collector) -> None:
    collector.reset_first = 1
    transport = HTTPTransport(collector.url + "/api/collect", timeout_s=5)
    with pytest.raises(ConnectionError):
        transport.send(b"{}", {"Content-Type": "application/json"})
    transport.close()


def test_headers_on_the_wire(collector: Collector, make_client: MakeClient) -> None:
    client = make_client(transport=None, host=collector.url, secret_key="sk_live_1")
    client.track("e")
    assert client.flush(5)
    headers = {k.lower(): v for k, v in collector.headers[0].items()}
    assert headers["authorization"] == "Bearer sk_live_1"
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("clycyo-sdk-python/")


def test_https_with_a_custom_ssl_context(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    collector = Collector()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    collector.server.socket = server_context.wrap_socket(collector.server.socket, server_side=True)
    client_context = ssl.create_default_context(cafile=str(cert))
    try:
        url = collector.url.replace("http://", "https://")
        client = Client("sk", url, ssl_context=client_context, exit_flush_timeout_s=None)
        client.track("secure")
        assert client.flush(10)
        assert client.shutdown(5)
        assert collector.names() == ["secure"]
        # Without the certificate's CA the connection is refused, and the event is not sent.
        untrusting = Client("sk", url, max_retries=0, exit_flush_timeout_s=None)
        untrusting.track("refused")
        assert not untrusting.flush(10)
        untrusting.shutdown(1)
    finally:
        collector.stop()


def test_a_secret_key_read_with_its_newline_still_delivers(
    collector: Collector, make_client: MakeClient
) -> None:
    # A key read from a file or a mounted secret often ends with a newline, which no HTTP
    # header may carry: every request would fail before it left.
    client = make_client(secret_key="sk_live_from_file\n", transport=None, host=collector.url)
    client.track("signup")
    assert client.flush(5)
    assert collector.names() == ["signup"]
    assert collector.headers[0]["Authorization"] == "Bearer sk_live_from_file"
