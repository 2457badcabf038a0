"""Rotating a site's secret key against a running server: `clycyo key add|list|revoke` and the
settings page's keys. A new key works at once; a revoked one is refused within a second, by the
collect endpoint (trusted fields) and by the query API alike."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.serverproc import ServerProcess, Site, clycyo, run_clycyo
from tests.web.http_login import Clients, clients, settings_csrf, site_user

__all__ = ["clients"]  # the fixture

PASSWORD = "correct horse battery"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


def collect_status(site: Site, secret_key: str) -> int:
    """A server event with the fields only a secret key may set (the end user's address and
    browser, a time days back)."""
    body = {
        "name": "invoice.paid",
        "timestamp": int(time.time() * 1000) - 3 * 86_400_000,
        "context": {"ip": "198.51.100.7", "user_agent": CHROME},
    }
    status, answer = site.server.post("/api/collect", body, bearer=secret_key)
    assert status != 200 or answer["accepted"] == 1, answer
    return status


def query_status(site: Site, secret_key: str) -> int:
    spec = {"site": site.site, "metrics": ["events"], "date_range": "7d"}
    status, _ = site.server.post("/api/v1/query", spec, bearer=secret_key)
    return status


def refused_within(site: Site, secret_key: str, limit_s: float = 1.5) -> float:
    """Seconds until both the collect endpoint and the query API answer `secret_key` 401."""
    started = time.monotonic()
    while collect_status(site, secret_key) != 401 or query_status(site, secret_key) != 401:
        elapsed = time.monotonic() - started
        assert elapsed < limit_s, f"the revoked key still works after {elapsed:.1f} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_rotated_key_works_and_the_revoked_one_is_refused_within_a_second(
    server: Site,
) -> None:
    data = server.data_dir
    old = server.secret_key
    # The server has the old key in its cache before it is revoked.
    assert collect_status(server, old) == 200 and query_status(server, old) == 200
    made = json.loads(clycyo("key", "add", "--site", server.site, "--json", data=data))
    new = made["secret_key"]
    assert new.startswith("sk_") and new != old
    assert collect_status(server, new) == 200 and query_status(server, new) == 200

    listed = json.loads(clycyo("key", "list", "--site", server.site, "--json", data=data))
    assert new not in json.dumps(listed) and old not in json.dumps(listed)
    assert [k["hint"] for k in listed] == [old[:7], new[:7]]
    assert all(k["site"] == server.site and k["revoked_at"] is None for k in listed)
    old_id = listed[0]["id"]
    assert listed[1]["id"] == made["id"] != old_id
    text = clycyo("key", "list", "--site", server.site, data=data)
    assert old_id in text and old[:7] in text and old not in text

    clycyo("key", "revoke", old_id, data=data)
    refused_within(server, old)
    assert collect_status(server, new) == 200 and query_status(server, new) == 200
    listed = json.loads(clycyo("key", "list", "--site", server.site, "--json", data=data))
    assert [k["revoked_at"] is not None for k in listed] == [True, False]


def test_the_last_live_key_is_kept_unless_forced(server: Site) -> None:
    data = server.data_dir
    (only,) = json.loads(clycyo("key", "list", "--site", server.site, "--json", data=data))
    kept = run_clycyo("key", "revoke", only["id"], data=data)
    assert kept.returncode == 1 and "last live one" in kept.stderr and "--force" in kept.stderr
    assert query_status(server, server.secret_key) == 200
    unknown = run_clycyo("key", "revoke", "0123456789ab", data=data)
    assert unknown.returncode == 1 and "no such live secret key" in unknown.stderr
    clycyo("key", "revoke", only["id"], "--force", data=data)
    refused_within(server, server.secret_key)
    again = run_clycyo("key", "revoke", only["id"], "--force", data=data)
    assert again.returncode == 1
    assert again.stderr == f"clycyo: secret key {only['id']} is already revoked\n"


def test_the_settings_page_makes_a_key_shown_once_and_revokes_one(
    server: Site, clients: Clients
) -> None:
    client = site_user(server, f"keys-{server.site}@example.com", clients)
    settings = f"/sites/{server.site}/settings"
    old = server.secret_key
    assert collect_status(server, old) == 200

    made = client.post(f"{settings}/keys", data={"csrf": settings_csrf(client, server.site)})
    assert made.status_code == 200
    new = made.text.split('value="sk_', 1)[1].split('"', 1)[0]
    new = "sk_" + new
    assert collect_status(server, new) == 200 and query_status(server, new) == 200
    page = client.get(settings).text
    assert new not in page and new[:7] in page and old[:7] in page  # shown only once
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert page.count("<h2>Secret keys</h2>") == 1 and "<" not in title
    keys = client.get(f"{settings}.json").json()["secret_keys"]
    assert [k["hint"] for k in keys] == [old[:7], new[:7]] and new not in json.dumps(keys)

    csrf = settings_csrf(client, server.site)
    # Past the server's next look at the store's version (every second), with the old key back
    # in its cache: what follows is the only change it could notice.
    time.sleep(1.2)
    assert collect_status(server, old) == 200
    revoked = client.post(f"{settings}/keys/revoke", data={"csrf": csrf, "id": keys[0]["id"]})
    assert revoked.status_code == 303
    refused_within(server, old)
    assert collect_status(server, new) == 200 and query_status(server, new) == 200

    # The last live key stays: the page offers no button for it, and a post says why.
    page = client.get(settings).text
    assert "data-revoke-key" not in page and "the only live key" in page
    last = client.post(
        f"{settings}/keys/revoke",
        data={"csrf": settings_csrf(client, server.site), "id": keys[1]["id"]},
    )
    assert last.status_code == 400 and "last live one" in last.text
    assert query_status(server, new) == 200


def test_only_a_logged_in_user_of_the_site_with_the_csrf_token_manages_keys(
    server: Site, clients: Clients
) -> None:
    theirs_site = server.server.add_site()
    clycyo("key", "add", "--site", server.site, data=server.data_dir)  # two: one may go
    listed = json.loads(
        clycyo("key", "list", "--site", server.site, "--json", data=server.data_dir)
    )
    target = listed[0]["id"]
    settings = f"/sites/{server.site}/settings"
    api_token = json.loads(
        clycyo("token", "add", "--site", server.site, "--json", data=server.data_dir)
    )["token"]
    share = json.loads(
        clycyo("share", "add", "--site", server.site, "--json", data=server.data_dir)
    )
    outsiders = clients.new(server.server)
    for headers in ({"Authorization": f"Bearer {api_token}"}, {}):
        for path in (f"{settings}/keys", f"{settings}/keys/revoke"):
            answer = outsiders.post(path, data={"id": target}, headers=headers)
            assert answer.status_code in (401, 303), answer.text  # 303: to the login form
            assert "sk_" not in answer.text
    as_token = outsiders.get(f"{settings}.json", headers={"Authorization": f"Bearer {api_token}"})
    assert as_token.status_code in (403, 404) and "sk_" not in as_token.text
    shared_page = outsiders.get(share["path"] + "/settings")
    assert shared_page.status_code in (403, 404) and "sk_" not in shared_page.text

    client = site_user(server, f"csrf-{server.site}@example.com", clients)
    forged = client.post(f"{settings}/keys/revoke", data={"id": target})
    assert forged.status_code == 403
    # A key of another site is not revoked through this site's page, nor that site's page
    # reached by a user who may not read it.
    other = json.loads(
        clycyo("key", "list", "--site", theirs_site.site, "--json", data=server.data_dir)
    )[0]["id"]
    clycyo("key", "add", "--site", theirs_site.site, data=server.data_dir)
    csrf = settings_csrf(client, server.site)
    wrong = client.post(f"{settings}/keys/revoke", data={"csrf": csrf, "id": other})
    assert wrong.status_code == 400
    theirs = client.post(f"/sites/{theirs_site.site}/settings/keys", data={"csrf": csrf})
    assert theirs.status_code in (403, 404) and "sk_" not in theirs.text
    theirs_keys = clycyo("key", "list", "--site", theirs_site.site, "--json", data=server.data_dir)
    assert [k["revoked_at"] for k in json.loads(theirs_keys)] == [None, None]  # none made
    assert query_status(theirs_site, theirs_site.secret_key) == 200
    listed = json.loads(
        clycyo("key", "list", "--site", server.site, "--json", data=server.data_dir)
    )
    assert all(k["revoked_at"] is None for k in listed)


def test_collector_processes_refuse_a_key_revoked_on_the_settings_page(
    tmp_path: Path, clients: Clients
) -> None:
    """With `--workers`, collect requests are answered by collector processes, each with its own
    cache of keys; a key revoked by the core process (the Settings page) is refused there too."""
    server = ServerProcess(tmp_path / "data", extra_args=("--workers", "1")).start()
    try:
        site = server.add_site()
        client = site_user(site, "workers@example.com", clients)
        made = client.post(
            f"/sites/{site.site}/settings/keys", data={"csrf": settings_csrf(client, site.site)}
        )
        assert made.status_code == 200
        new = "sk_" + made.text.split('value="sk_', 1)[1].split('"', 1)[0]
        for _ in range(4):  # every collector and the core have both keys cached
            assert collect_status(site, site.secret_key) == 200
            assert collect_status(site, new) == 200
        (old_key, _) = client.get(f"/sites/{site.site}/settings.json").json()["secret_keys"]
        revoked = client.post(
            f"/sites/{site.site}/settings/keys/revoke",
            data={"csrf": settings_csrf(client, site.site), "id": old_key["id"]},
        )
        assert revoked.status_code == 303
        refused_within(site, site.secret_key)
        for _ in range(4):
            assert collect_status(site, site.secret_key) == 401
            assert collect_status(site, new) == 200
    finally:
        server.stop()
