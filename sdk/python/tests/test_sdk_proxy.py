"""Sending through an HTTP proxy: the `proxy=` option and the standard environment variables.

Real sockets on 127.0.0.1: a tiny forwarding proxy (`forward_proxy`) in front of the test
collector, plain and over TLS (CONNECT). The same against a real `clycyo serve` is in
tests/sdk/test_sdk_proxy.py.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from clycyo_sdk import Client
from clycyo_sdk.proxies import Proxy, parse_proxy, proxy_for
from clycyo_sdk.transport import HTTPTransport
from forward_proxy import ForwardProxy
from sdk_doubles import Collector, MakeClient


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_collector(certificate: tuple[Path, Path]) -> Iterator[Collector]:
    collector = Collector()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    collector.server.socket = context.wrap_socket(collector.server.socket, server_side=True)
    collector.url = collector.url.replace("http://", "https://")
    yield collector
    collector.stop()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- which proxy ------------------------------------------------------------------------------


def test_the_environment_names_the_proxy_by_the_collectors_scheme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy:3128")
    monkeypatch.setenv("https_proxy", "corp-proxy:8080")  # lower case, no scheme: as urllib
    assert proxy_for("http://stats.example.com/api/collect") == Proxy("plain-proxy", 3128, None)
    assert proxy_for("https://stats.example.com/api/collect") == Proxy("corp-proxy", 8080, None)


def test_no_proxy_names_hosts_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal.example,10.1.2.3")
    assert proxy_for("https://stats.internal.example/api/collect") is None
    assert proxy_for("https://10.1.2.3:8443/api/collect") is None
    assert proxy_for("https://localhost:8000/api/collect") is None
    assert proxy_for("https://stats.example.com/api/collect") is not None
    monkeypatch.setenv("NO_PROXY", "*")
    assert proxy_for("https://stats.example.com/api/collect") is None


def test_an_explicit_proxy_wins_and_an_empty_one_means_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "stats.example.com")
    url = "https://stats.example.com/api/collect"
    assert proxy_for(url, "http://mine:8888") == Proxy("mine", 8888, None)
    assert proxy_for(url, "") is None
    monkeypatch.delenv("NO_PROXY")
    assert proxy_for(url, "") is None


def test_credentials_in_the_proxy_url_become_proxy_authorization() -> None:
    found = parse_proxy("http://alice:p%40ss%3Aword@proxy:3128")
    assert found == Proxy("proxy", 3128, basic("alice", "p@ss:word"))
    assert parse_proxy("http://proxy").port == 80


@pytest.mark.parametrize(
    "value", ["socks5://bob:hunter2@proxy:1080", "https://bob:hunter2@proxy:3128", "http://"]
)
def test_a_proxy_that_cannot_be_used_fails_at_start_up_without_quoting_it(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="http://") as explicit:
        Client("sk", "https://stats.example.com", proxy=value, exit_flush_timeout_s=None)
    assert "hunter2" not in str(explicit.value)
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(ValueError, match="environment") as from_env:
        Client("sk", "https://stats.example.com", exit_flush_timeout_s=None)
    assert "hunter2" not in str(from_env.value)


# -- through a real proxy ------------------------------------------------------------------------


def test_events_pass_through_the_environments_proxy(
    collector: Collector,
    proxy: ForwardProxy,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    client = make_client(transport=None, host=collector.url)
    client.track("signup")
    client.track("upgrade")
    assert client.flush(5)
    assert collector.names() == ["signup", "upgrade"]
    assert proxy.forwarded == [("POST", f"{collector.url}/api/collect")]
    # The collector saw the SDK's own headers, the proxy's hop headers gone.
    assert collector.headers[0]["Authorization"] == "Bearer sk_test"


def test_no_proxy_sends_straight_to_the_collector(
    collector: Collector,
    proxy: ForwardProxy,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = make_client(transport=None, host=collector.url)
    client.track("direct")
    assert client.flush(5)
    assert collector.names() == ["direct"]
    assert proxy.forwarded == []
    assert proxy.tunnels == []


def test_https_goes_through_a_connect_tunnel_end_to_end(
    tls_collector: Collector, proxy: ForwardProxy, certificate: tuple[Path, Path]
) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    client = Client(
        "sk_tls", tls_collector.url, proxy=proxy.url, ssl_context=trust, exit_flush_timeout_s=None
    )
    try:
        client.track("secure")
        assert client.flush(10)
        client.track("again")  # over the same tunnel, kept alive
        assert client.flush(10)
    finally:
        client.shutdown(5)
    assert tls_collector.names() == ["secure", "again"]
    port = tls_collector.server.server_address[1]
    assert proxy.tunnels == [f"127.0.0.1:{port}"]
    assert proxy.forwarded == []  # the proxy never saw a request, only TLS bytes


def test_https_through_the_environments_proxy(
    tls_collector: Collector,
    proxy: ForwardProxy,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # not this one: the scheme decides
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    client = Client("sk_tls", tls_collector.url, ssl_context=trust, exit_flush_timeout_s=None)
    try:
        client.track("secure")
        assert client.flush(10)
    finally:
        client.shutdown(5)
    assert tls_collector.names() == ["secure"]
    assert len(proxy.tunnels) == 1


def test_a_proxy_that_wants_credentials_gets_those_of_its_url(
    collector: Collector, tls_collector: Collector, certificate: tuple[Path, Path]
) -> None:
    proxy = ForwardProxy(required_authorization=basic("alice", "s3cret"))
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    with_credentials = proxy.url.replace("http://", "http://alice:s3cret@")
    clients = [
        Client("sk", collector.url, proxy=with_credentials, exit_flush_timeout_s=None),
        Client(
            "sk",
            tls_collector.url,
            proxy=with_credentials,
            ssl_context=trust,
            exit_flush_timeout_s=None,
        ),
    ]
    try:
        for client in clients:
            client.track("authorized")
            assert client.flush(10)
        assert collector.names() == ["authorized"]
        assert tls_collector.names() == ["authorized"]
        assert (len(proxy.forwarded), len(proxy.tunnels), proxy.refused) == (1, 1, 0)
        # Without them the proxy answers 407, which is final like any other refusal.
        anonymous = Client("sk", collector.url, proxy=proxy.url, exit_flush_timeout_s=None)
        anonymous.track("refused")
        assert not anonymous.flush(10)
        assert anonymous.failed == 1
        assert proxy.refused == 1
        anonymous.shutdown(1)
    finally:
        for client in clients:
            client.shutdown(5)
        proxy.stop()


def test_the_transport_says_which_proxy_it_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert HTTPTransport("https://stats.example.com/api/collect").proxy == Proxy(
        "proxy", 3128, None
    )
    assert HTTPTransport("https://stats.example.com/api/collect", proxy="").proxy is None
