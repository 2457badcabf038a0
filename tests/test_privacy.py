"""No raw IP address reaches disk: not as text, not as packed bytes, not in any file."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from pathlib import Path

from tests.serverproc import ServerProcess, clycyo

IPV4 = ["203.0.113.77", "8.8.4.4", "85.214.132.117"]
IPV6 = ["2001:db8:85a3::8a2e:370:7334", "2001:4860:4860::8844"]
# An office's visitors a shield keeps out: the operator's ranges are stored, the addresses not.
SHIELDED = {"198.51.100.23": "198.51.100.0/24", "2001:db8:aaaa::17": "2001:db8:aaaa::/48"}
OFFICE_PAGE = "https://privacy.example/office"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def forms(address: str) -> list[bytes]:
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    found = [str(ip).encode(), ip.exploded.encode(), socket.inet_pton(family, str(ip))]
    if ip.version == 6:
        found.append(ip.exploded.replace(":", "").encode())
    return found


def test_no_ip_address_is_written_anywhere(own_server: ServerProcess) -> None:
    own_server.extra_args = ("--trusted-proxies", "1")
    own_server.start()
    site = own_server.add_site("privacy.example")
    for address in IPV4 + IPV6:
        context = {"ip": address, "user_agent": CHROME}
        # A backend forwarding its end user's address (cookieless, so it feeds the hash).
        site.post("/api/collect", {"name": "signup", "context": context}, secret=True)
        # A browser behind the operator's proxy.
        status, answer = own_server.post(
            "/api/collect",
            {"key": site.public_key, "type": "pageview", "url": "https://privacy.example/"},
            headers={"X-Forwarded-For": address, "User-Agent": CHROME},
        )
        assert status == 200, answer
        # An invalid event carrying the address goes to the quarantine.
        site.post("/api/collect", {"batch": [{"name": 1, "context": context}]}, secret=True)
        # So does one that is not valid UTF-8 (a raw 0xFF byte), in a batch or alone, and one
        # whose context is no object.
        event = b'{"name": "ipleak", "title": "\xff", "context": %s}' % json.dumps(context).encode()
        for body in (b'{"batch": [%s]}' % event, event):
            status, answer = site.post("/api/collect", body, secret=True)
            assert status == 200, answer
            assert answer["rejected"] == [
                {"index": 0, "error": "title: not valid UTF-8 (byte 29 of the event)"}
            ]
        answer = site.post("/api/collect", {"name": "x", "context": address}, secret=True)[1]
        assert answer["rejected"][0]["error"].startswith("context: expected object")
    for rule in SHIELDED.values():
        clycyo("shield", "add", "--site", site.site, "--ip", rule, data=own_server.data_dir)
    for address in SHIELDED:
        for _ in range(30):  # a running server applies a new rule within a second
            status, answer = own_server.post(
                "/api/collect",
                {"key": site.public_key, "type": "pageview", "url": OFFICE_PAGE},
                headers={"X-Forwarded-For": address, "User-Agent": CHROME},
            )
            assert status == 200, answer
            if answer["ignored"]:
                break
            time.sleep(0.1)
        assert answer["ignored"] == 1, answer
    stored = [e for e in site.events() if e["url"] != OFFICE_PAGE]
    assert len(stored) == 2 * len(IPV4 + IPV6), [(e["name"], e["origin"]) for e in stored]
    assert {e["country"] for e in stored} >= {"US", "DE"}, [e["country"] for e in stored]
    own_server.stop()
    quarantined = json.loads(clycyo("quarantine", "list", "--json", data=own_server.data_dir))
    assert len(quarantined) == 4 * len(IPV4 + IPV6)
    assert {e["payload"]["title"] for e in quarantined if e["payload"]["name"] == "ipleak"} == {
        "\ufffd"
    }

    needles = [form for address in [*IPV4, *IPV6, *SHIELDED] for form in forms(address)]
    files = [p for p in own_server.data_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".duckdb") for p in files), files
    assert any(p.suffix == ".log" for p in files), files
    for path in [*files, own_server.log_path]:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            # SQLite deletes a `-shm` file when its last connection closes: this test's own
            # configuration connection (`add_site`) may close while the files are read.
            assert str(path).endswith("-shm"), f"{path} vanished"
            continue
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {path}"
