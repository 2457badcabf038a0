"""The SDK's counters against a real `clycyo serve`: each event the collector answered is counted
once, as accepted (`sent`), `duplicates`, `ignored` or `rejected`.

`ignored` is what the collector answers for an event it reads and deliberately does not store:
bot traffic, judged by the end user's `context.user_agent` that a backend forwards. The
sending library's own `User-Agent` header never makes an event a bot's.
"""

from __future__ import annotations

import uuid

from clycyo_sdk import Client
from tests.sdk.conftest import CHROME, ClientFactory
from tests.serverproc import Site

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
NOT_FLAT = {"plan": {"name": "pro"}}  # props are flat: the collector rejects this one


def test_each_answer_is_counted_once_in_sync_mode(server: Site, sync_client: ClientFactory) -> None:
    clycyo = sync_client()
    first = uuid.uuid4().hex
    assert clycyo.track("signup", user_id="u1", event_id=first, context={"user_agent": CHROME})
    assert clycyo.track("signup", user_id="u1", event_id=first)  # a repeat
    # Answered, not stored: the collector has it and will not want it again.
    assert clycyo.track("signup", user_id="u2", context={"user_agent": GOOGLEBOT})
    assert clycyo.page(
        f"https://{server.site}/pricing", visitor_id="v3", context={"user_agent": GOOGLEBOT}
    )
    assert not clycyo.track("signup", user_id="u4", props=NOT_FLAT)

    assert clycyo.stats() == {
        "dropped": 0,
        "invalid": 0,
        "sent": 1,
        "duplicates": 1,
        "ignored": 2,
        "rejected": 1,
        "failed": 0,
        "queued": 0,
    }
    assert [e["event_id"] for e in server.events()] == [first]


def test_a_mixed_batch_in_the_background_adds_up(server: Site) -> None:
    clycyo = Client(server.secret_key, host=server.url, flush_interval_s=30.0, flush_at=100)
    try:
        for number in range(5):
            # Without a forwarded context only the SDK's own header names the client.
            context = {"user_agent": CHROME} if number % 2 else None
            clycyo.track("report.viewed", user_id=f"u{number}", context=context)
        for number in range(3):
            clycyo.track("report.viewed", user_id=f"b{number}", context={"user_agent": GOOGLEBOT})
        clycyo.track("report.viewed", user_id="u9", props=NOT_FLAT)
        assert clycyo.flush(timeout=10.0)  # one batch of nine: the time limit is far away
        counts = clycyo.stats()
        assert [counts[k] for k in ("sent", "duplicates", "ignored", "rejected")] == [5, 0, 3, 1]
        assert len(server.events(name="report.viewed")) == 5
    finally:
        assert clycyo.shutdown(timeout=5.0)


def test_a_secret_key_read_with_its_newline_is_accepted(server: Site) -> None:
    # As `open("secret_key").read()` or a mounted secret gives it.
    with Client(
        server.secret_key + "\n", host=server.url, sync_mode=True, max_retries=0, timeout_s=5.0
    ) as clycyo:
        assert clycyo.track("signup", user_id="u_newline")
        assert clycyo.stats()["sent"] == 1
    assert [e["user_id"] for e in server.events(name="signup")] == ["u_newline"]
