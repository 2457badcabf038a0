"""How a request body reaches the collector: the `Transport` interface and its HTTP version.

A transport sends one prepared body and returns the answer, or raises for a network failure. It
decides nothing: retries, backoff and the meaning of statuses belong to `delivery`. The HTTP
transport keeps one persistent HTTP/1.1 connection and is used by one thread at a time; through
an HTTP proxy when one is set or the environment names one (`proxies`): a plain collector's
requests are forwarded by the proxy, an https one is reached through a CONNECT tunnel.
"""

from __future__ import annotations

import http.client
import os
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import NamedTuple, Protocol

from clycyo_sdk.proxies import proxy_for

COLLECT_PATH = "/api/collect"

# Failures that mean a kept-alive connection was closed by the server while idle.
_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


class Response(NamedTuple):
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class Transport(Protocol):
    def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST `body` with `headers`; raise (any exception) when no answer came back."""
        ...

    def close(self) -> None: ...


def collect_url(host: str) -> str:
    """`host` ("https://stats.example.com", optionally with a path prefix) → the collect URL."""
    parts = urllib.parse.urlsplit(host.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The value is not quoted: it may be a secret key passed in the host's place.
        raise ValueError("host must be an http:// or https:// URL with a host name")
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip("/") + COLLECT_PATH, "", "")
    )


class HTTPTransport:
    """POSTs over one kept-alive connection, opened lazily and reopened after any failure.

    `proxy`: an http:// proxy URL, "" for none whatever the environment says, or None (the
    default) for the environment's `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        proxy: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// URL with a host name")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self._ssl_context = ssl_context
        self.proxy = proxy_for(url, proxy)
        self._proxy_headers: dict[str, str] = {}
        if self.proxy is not None:
            if self.proxy.authorization is not None:
                self._proxy_headers["Proxy-Authorization"] = self.proxy.authorization
            if not self._https:
                # A forwarding proxy is asked for the absolute URL (RFC 9112, absolute-form).
                netloc = parts.netloc.rpartition("@")[2]
                self._path = urllib.parse.urlunsplit(
                    ("http", netloc, parts.path or "/", parts.query, "")
                )
        self._conn: http.client.HTTPConnection | None = None
        self._pid = os.getpid()

    def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        if self._pid != os.getpid():
            # A forked child must never write to the socket it shares with its parent.
            self._conn = None
            self._pid = os.getpid()
        retried = False
        while True:
            conn = self._connection()
            reused = conn.sock is not None
            try:
                headers_in = dict(headers)
                if self.proxy is not None and not self._https:
                    headers_in.update(self._proxy_headers)
                conn.request("POST", self._path, body=body, headers=headers_in)
                answer = conn.getresponse()
                data = answer.read()  # read it all so that the connection can be used again
            except _STALE_CONNECTION_ERRORS:
                self.close()
                # The server closed an idle kept-alive connection: one immediate try on a fresh
                # one. Safe even if the first request did arrive: its event ids make it a duplicate.
                if reused and not retried:
                    retried = True
                    continue
                raise
            except BaseException:
                self.close()
                raise
            headers_out = {name.lower(): value for name, value in answer.getheaders()}
            return Response(answer.status, headers_out, data)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            # Through a proxy the socket goes to the proxy; for https, http.client then asks it
            # for a tunnel (CONNECT) and runs TLS with the collector's name inside it.
            host, port = (self._host, self._port) if self.proxy is None else self.proxy[:2]
            conn: http.client.HTTPConnection
            if self._https:
                context = self._ssl_context or ssl.create_default_context()
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self._timeout_s, context=context
                )
                if self.proxy is not None:
                    conn.set_tunnel(self._host, self._port, headers=self._proxy_headers)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self._timeout_s)
            self._conn = conn
        return self._conn
