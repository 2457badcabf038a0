"""The test site: the HTML fixtures of `site/`, served with the tracker's script tag filled in."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path
from typing import Any

SITE_DIR = Path(__file__).parent / "site"


class TestSite:
    """The pages of `site/` on `http://{host}:{port}`, with the script tag filled in."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, host: str, other_host: str, script_src: str, public_key: str) -> None:
        self.host = host
        self.other_host = other_host
        self._values = {"{{CLYCYO_SRC}}": script_src, "{{CLYCYO_KEY}}": public_key}
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self.origin = f"http://{host}:{self.port}"
        # The same server under the other loopback name: another host, so links there are outbound.
        self.other_origin = f"http://{other_host}:{self.port}"
        self._values["{{OTHER_ORIGIN}}"] = self.other_origin
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str, **query: str) -> str:
        return self.origin + path + ("?" + urllib.parse.urlencode(query) if query else "")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _render(self, name: str) -> bytes | None:
        file = SITE_DIR / name
        if not name or "/" in name or not file.is_file():
            return None
        text = file.read_text()
        for placeholder, value in self._values.items():
            text = text.replace(placeholder, value)
        return text.encode()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/files/"):
                    self._answer(b"%PDF-1.4\n%test\n", "application/pdf", attachment=True)
                    return
                body = site._render(path.lstrip("/") or "index.html")
                if body is None:
                    self.send_error(404)
                    return
                self._answer(body, "text/html; charset=utf-8")

            def _answer(self, body: bytes, content_type: str, attachment: bool = False) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                if attachment:
                    self.send_header("Content-Disposition", "attachment")
                self.end_headers()
                self.wfile.write(body)

        return Handler
