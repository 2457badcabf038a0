"""`/metrics`: Prometheus text with the collector's, the log's and the store's figures."""

from __future__ import annotations

import re
from pathlib import Path

from clycyo.collect.ingest import _field_of
from clycyo.web.metrics import rejection_label
from tests.serverproc import Site

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

SAMPLE = re.compile(r'^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$')


def scrape(site: Site) -> dict[str, float]:
    status, body = site.server.request("GET", "/metrics")
    assert status == 200
    text = body.decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def test_metrics_count_what_happens(server: Site) -> None:
    before = scrape(server)
    batch = [
        {"name": "good", "props": {"plan": "team"}},
        {"name": "bad", "props": {'evil"} 1\n': {"nested": True}}},
    ]
    status, body = server.post(
        "/api/collect",
        {"batch": batch, "context": {"ip": "203.0.113.9"}},
        secret=True,
    )
    assert status == 200 and body["accepted"] == 1
    server.events()  # waits until the store has it: a write and a query were timed
    after = scrape(server)
    assert after["clycyo_events_accepted_total"] == before["clycyo_events_accepted_total"] + 1
    rejected = 'clycyo_events_rejected_total{field="props"}'
    assert after[rejected] == before.get(rejected, 0) + 1
    assert after["clycyo_store_write_seconds_count"] > 0
    assert after["clycyo_query_seconds_count"] > before.get("clycyo_query_seconds_count", 0)
    for name in (
        "clycyo_intake_unloaded_bytes",
        "clycyo_intake_lag_records",
        'clycyo_events_dropped_total{reason="bot"}',
        'clycyo_requests_rate_limited_total{limit="key"}',
        'clycyo_store_write_seconds_bucket{le="+Inf"}',
        'clycyo_query_seconds_bucket{le="0.1"}',
    ):
        assert name in after, name
    text = server.server.request("GET", "/metrics")[1].decode()
    assert "203.0.113.9" not in text and "team" not in text


def test_rejection_labels_come_from_a_closed_set() -> None:
    assert rejection_label("props.plan") == "props"
    assert rejection_label("revenue.amount") == "revenue"
    assert rejection_label('x"} 1') == "other"
    assert rejection_label("body") == "body"
    # Counted by top-level field, so keys a client invents do not grow the counters.
    assert _field_of('props["a:b"]: key expected str of length <= 100') == "props"
    assert _field_of("props.plan: expected str of length <= 2000") == "props"
    assert _field_of("revenue.amount: not a decimal number") == "revenue"


def test_every_metric_is_documented(server: Site) -> None:
    text = server.server.request("GET", "/metrics")[1].decode()
    names = re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE)
    assert "clycyo_store_healthy" in names
    table = OPERATIONS.read_text().split("## Metrics", 1)[1]
    missing = [name for name in names if not re.search(rf"`{name}[`{{]", table)]
    assert missing == [], "document these metrics in docs/operations.md"
