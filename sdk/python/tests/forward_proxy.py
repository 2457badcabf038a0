"""A real, tiny HTTP proxy on 127.0.0.1 for the SDK's proxy tests: plain forwarding and CONNECT.

Forwarded requests are relayed with a fresh upstream connection each; a CONNECT opens a TCP
tunnel and copies bytes both ways without reading them (TLS runs end to end through it). It
records what it was asked for, and can demand `Proxy-Authorization`. Not a conftest: the tests of
the SDK against a real `clycyo serve` (tests/sdk) load it too.
"""

from __future__ import annotations

import http.client
import http.server
import select
import socket
import threading
import urllib.parse
from typing import Any

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class ForwardProxy:
    def __init__(self, *, required_authorization: str | None = None) -> None:
        self.lock = threading.Lock()
        self.forwarded: list[tuple[str, str]] = []  # (method, absolute URL)
        self.tunnels: list[str] = []  # "host:port" of each CONNECT
        self.refused = 0  # requests answered 407
        self.required_authorization = required_authorization
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_CONNECT(self) -> None:
                proxy.tunnel(self)

            def do_POST(self) -> None:
                proxy.forward(self)

            do_GET = do_POST

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _authorized(self, request: http.server.BaseHTTPRequestHandler) -> bool:
        if self.required_authorization is None:
            return True
        if request.headers.get("Proxy-Authorization") == self.required_authorization:
            return True
        with self.lock:
            self.refused += 1
        length = int(request.headers.get("Content-Length", "0"))
        if length:
            request.rfile.read(length)
        request.send_response(407)
        request.send_header("Proxy-Authenticate", 'Basic realm="test"')
        request.send_header("Content-Length", "0")
        request.end_headers()
        return False

    def forward(self, request: http.server.BaseHTTPRequestHandler) -> None:
        if not self._authorized(request):
            return
        target = urllib.parse.urlsplit(request.path)
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        with self.lock:
            self.forwarded.append((request.command, request.path))
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP
        }
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(request.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        request.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def tunnel(self, request: http.server.BaseHTTPRequestHandler) -> None:
        if not self._authorized(request):
            return
        host, _, port = request.path.rpartition(":")
        with self.lock:
            self.tunnels.append(request.path)
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
        request.send_response(200, "Connection established")
        request.end_headers()
        request.wfile.flush()
        client = request.connection
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 30)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()
            request.close_connection = True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
