"""`clycyo token …` and `clycyo share …` against a running server: honoured and revoked at once."""

from __future__ import annotations

import json

from tests.serverproc import Site, clycyo


def test_token_add_list_revoke(server: Site) -> None:
    data = server.data_dir
    made = json.loads(
        clycyo("token", "add", "--site", server.site, "--label", "ci", "--json", data=data)
    )
    assert made["token"].startswith("ct_") and made["sites"] == [server.site]
    status, _ = server.server.get(f"/api/v1/events?site={server.site}", bearer=made["token"])
    assert status == 200
    listed = json.loads(clycyo("token", "list", "--json", data=data))
    mine = next(t for t in listed if t["id"] == made["id"])
    assert mine["hint"] == made["token"][:7] and made["token"] not in json.dumps(listed)
    clycyo("token", "revoke", str(made["id"]), data=data)
    status, body = server.server.get(f"/api/v1/events?site={server.site}", bearer=made["token"])
    assert status == 401, body


def test_share_add_and_revoke(server: Site) -> None:
    data = server.data_dir
    made = json.loads(clycyo("share", "add", "--site", server.site, "--json", data=data))
    assert made["path"].startswith("/share/sh_")
    status, body = server.server.get(made["path"] + "/funnels.json")
    assert status == 200, body
    clycyo("share", "revoke", str(made["id"]), data=data)
    status, _ = server.server.get(made["path"] + "/funnels.json")
    assert status == 404
