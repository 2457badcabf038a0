"""A site whose visits came from a known set of sources, for the tests of the overview's Filter
control: each visitor one pageview in the week PERIOD names, tagged by `utm_source` (those of
/pricing with a property, `layout`)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from tests.serverproc import Site
from tests.web.conftest import CHROME

HOSTILE = "<img src=x onerror=alert(1)>"
PERIOD = "period=custom&from=2026-11-10&to=2026-11-16"
BULK = [f"bulk-{n:02d}" for n in range(25)]
# utm_source → (visitors, page)
SOURCES: dict[str, tuple[int, str]] = {
    "newsletter-alpha": (3, "/"),
    "Newsletter-Beta": (2, "/pricing"),
    "partner-gamma": (1, "/"),
    HOSTILE: (1, "/"),
    **{name: (1, "/docs") for name in BULK},
}


def fill(site: Site) -> None:
    """Sends every source's pageviews with the secret key and waits until they are stored."""
    noon = dt.datetime(2026, 11, 12, 12, tzinfo=dt.UTC)
    batch: list[dict[str, Any]] = []
    for i, (source, (visitors, page)) in enumerate(SOURCES.items()):
        for n in range(visitors):
            batch.append(
                {
                    "type": "pageview",
                    "origin": "browser",
                    "visitor_id": f"v{i}-{n}",
                    "url": f"https://{site.site}{page}?utm_source={quote(source)}",
                    "timestamp": int(noon.timestamp() * 1000) + i * 1000 + n,
                    "context": {"user_agent": CHROME},
                    **({"props": {"layout": "b"}} if page == "/pricing" else {}),
                }
            )
    status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and answer["accepted"] == len(batch), answer
    site.events(limit="1")  # returns once everything acknowledged is in the store
