"""`clycyo site add|set`: a site's reporting currency and time zone, with and without a server.

A running server must use a changed setting from its next requests on, without a restart.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

from clycyo.cli import main
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, clycyo


def _run(*args: str, data: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["site", *args, "--data", str(data)])
    return code, out.getvalue(), err.getvalue()


def _payment(amount: str, currency: str) -> dict[str, Any]:
    return {
        "name": "payment",
        "user_id": "u1",
        "order_id": uuid.uuid4().hex,
        "revenue": {"amount": amount, "currency": currency},
    }


def _revenue_today(server: ServerProcess, domain: str, key: str) -> dict[str, Any]:
    status, answer = server.post(
        "/api/v1/query",
        {"site": domain, "metrics": ["revenue"], "date_range": "today"},
        bearer=key,
    )
    assert status == 200, answer
    return dict(answer)


def test_a_running_server_honours_a_new_currency_and_time_zone(
    own_server: ServerProcess,
) -> None:
    server = own_server.start()
    created = json.loads(
        clycyo(
            "site", "add", "money.example", "--currency", "eur", "--timezone", "Europe/Berlin",
            "--json", data=server.data_dir,
        )
    )  # fmt: skip
    assert (created["currency"], created["timezone"]) == ("EUR", "Europe/Berlin")
    key = created["secret_key"]
    batch = [_payment("30.00", "EUR"), _payment("10.00", "USD")]
    status, body = server.post("/api/collect", {"batch": batch}, bearer=key)
    assert (status, body["accepted"]) == (200, 2)
    answer = _revenue_today(server, "money.example", key)
    assert answer["meta"]["currency"] == "EUR"
    assert answer["meta"]["timezone"] == "Europe/Berlin"
    assert answer["results"][0]["metrics"] == [30.0]
    assert "USD" in answer["meta"]["other_currencies"]

    changed = json.loads(
        clycyo(
            "site", "set", "money.example", "--currency", "usd", "--timezone", "Asia/Kolkata",
            "--json", data=server.data_dir,
        )
    )  # fmt: skip
    assert changed["changed"] == ["currency", "timezone"]
    deadline = time.monotonic() + 10
    while (answer := _revenue_today(server, "money.example", key))["meta"]["currency"] != "USD":
        assert time.monotonic() < deadline, answer["meta"]
        time.sleep(0.1)
    assert answer["results"][0]["metrics"] == [10.0]
    assert answer["meta"]["timezone"] == "Asia/Kolkata"
    # "today" is now Kolkata's day: it starts at a half hour in UTC (UTC+05:30).
    assert answer["meta"]["date_range"][0].endswith(":30:00Z")
    listing = json.loads(clycyo("site", "list", "--json", data=server.data_dir))
    assert [(s["currency"], s["timezone"]) for s in listing] == [("USD", "Asia/Kolkata")]


def test_settings_without_a_server(tmp_path: Path) -> None:
    code, out, _ = _run("add", "shop.example", data=tmp_path)
    assert code == 0 and "(USD, UTC)" in out
    code, out, err = _run(
        "set", "shop.example", "--currency", "gbp", "--timezone", "Europe/London", data=tmp_path
    )
    assert code == 0, err
    assert out.strip() == "site shop.example updated: currency GBP, timezone Europe/London"
    site = ConfigStore(tmp_path / "config.sqlite").site_by_domain("shop.example")
    assert site is not None and (site.currency, site.timezone) == ("GBP", "Europe/London")


def test_a_bad_value_names_the_option_and_changes_nothing(tmp_path: Path) -> None:
    assert _run("add", "shop.example", "--currency", "EUR", data=tmp_path)[0] == 0
    refusals = [
        (("add", "new.example", "--currency", "EURO"), "--currency: 'EURO' is not a currency"),
        (("add", "new.example", "--timezone", "Mars/Base"), "--timezone: 'Mars/Base' is not"),
        (("set", "shop.example", "--currency", "12"), "--currency:"),
        (
            ("set", "shop.example", "--currency", "JPY", "--timezone", "europe/berlin"),
            "--timezone: 'europe/berlin' is not an IANA time zone name (did you mean Europe/Berlin",
        ),
        (("set", "shop.example", "--retention-days", "-1"), "--retention-days:"),
        (("set", "nowhere.example", "--currency", "JPY"), "no site nowhere.example"),
    ]
    for args, message in refusals:
        code, out, err = _run(*args, data=tmp_path)
        assert code == 1, args
        assert err.startswith("clycyo: ") and message in err, err
        assert out == ""
    config = ConfigStore(tmp_path / "config.sqlite")
    assert config.site_by_domain("new.example") is None
    site = config.site_by_domain("shop.example")
    assert site is not None and (site.currency, site.timezone) == ("EUR", "UTC")
