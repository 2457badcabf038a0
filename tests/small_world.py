"""Small worlds with known truth, built through the real write path.

A `Runtime` on a temporary data folder (real intake log, writer, deriver and DuckDB), one site,
and events sent as a backend with the secret key would send them (`origin: browser` for browser
events, so they may be backdated and carry the end user's agent). Times are minutes after a fixed
midnight two days ago, so tests state exact expectations for an exact day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from clycyo.collect.wire import decode_event
from clycyo.config.store import Site
from clycyo.query import api
from clycyo.runtime import Runtime, Settings

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def day_start(days_ago: int = 2) -> dt.datetime:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=days_ago)


class SmallWorld:
    def __init__(
        self,
        folder: Path,
        domain: str = "shop.test",
        currency: str = "USD",
        storage: str | None = None,
    ) -> None:
        self.runtime = Runtime.open(Settings(data_dir=folder / "data", storage_url=storage))
        self.domain = domain
        if self.runtime.config.site_by_domain(domain) is None:  # a reopened folder has it
            created = self.runtime.config.add_site(domain)
            if currency != "USD":
                self.runtime.config.update_site(created.site.id, currency=currency)
        self.runtime.directory.clear()
        self.start = day_start()
        self.day = self.start.date().isoformat()

    @property
    def site(self) -> Site:
        site = self.runtime.directory.by_domain(self.domain)
        assert site is not None
        return site  # type: ignore[no-any-return]

    def at(self, minute: float) -> int:
        """Epoch milliseconds `minute` minutes after the world's midnight."""
        return int((self.start + dt.timedelta(minutes=minute)).timestamp() * 1000)

    # Events

    def pageview(
        self, visitor: str | None, minute: float, path: str = "/", **extra: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "pageview",
            "origin": "browser",
            "url": f"https://{self.domain}{path}",
            "timestamp": self.at(minute),
            "context": {"user_agent": extra.pop("user_agent", CHROME)},
            **extra,
        }
        if visitor is not None:
            event["visitor_id"] = visitor
        return event

    def browser(
        self, visitor: str, minute: float, name: str, path: str = "/", **extra: Any
    ) -> dict[str, Any]:
        return {
            "name": name,
            "origin": "browser",
            "visitor_id": visitor,
            "url": f"https://{self.domain}{path}",
            "timestamp": self.at(minute),
            "context": {"user_agent": CHROME},
            **extra,
        }

    def identify(self, visitor: str, user: str, minute: float) -> dict[str, Any]:
        return {
            "type": "identify",
            "origin": "browser",
            "visitor_id": visitor,
            "user_id": user,
            "url": f"https://{self.domain}/account",
            "timestamp": self.at(minute),
            "context": {"user_agent": CHROME},
        }

    def server(self, minute: float, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "timestamp": self.at(minute), **extra}

    def payment(
        self,
        minute: float,
        amount: str,
        order: str,
        currency: str = "USD",
        name: str = "payment",
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "timestamp": self.at(minute),
            "revenue": {"amount": amount, "currency": currency},
            "order_id": order,
            **extra,
        }

    def send(self, *events: dict[str, Any], wait: bool = True) -> Any:
        """Send events with the secret key (each gets an event id unless it has one) and, with
        `wait`, wait until they are stored."""
        items = []
        for event in events:
            with_id = {"event_id": uuid.uuid4().hex, **event}
            items.append(decode_event(json.dumps(with_id).encode()))
        outcome = asyncio.run(
            self.runtime.ingest.ingest(self.site, True, items, ip=None, user_agent=None)
        )
        assert not outcome.rejected, outcome.rejected
        if wait:  # a minute: a shared machine under a full test run can hold a load up
            assert self.runtime.writer.wait_loaded(self.runtime.intake.last_seq, 60.0)
        return outcome

    # Reading

    def query(self, **body: Any) -> dict[str, Any]:
        body.setdefault("date_range", [self.day, self.day])
        return api.run(self.runtime, {"site": self.domain, **body})

    def totals(self, *metrics: str, **body: Any) -> list[Any]:
        answer = self.query(metrics=list(metrics), **body)
        return list(answer["results"][0]["metrics"])

    def breakdown(self, dimension: str, *metrics: str, **body: Any) -> dict[Any, list[Any]]:
        answer = self.query(metrics=list(metrics), dimensions=[dimension], **body)
        return {r["dimensions"][0]: r["metrics"] for r in answer["results"]}

    def reopen(self) -> None:
        """Stop the runtime and open the data folder again, as a restart would."""
        self.runtime.close()
        self.runtime = Runtime.open(self.runtime.settings)

    def close(self) -> None:
        self.runtime.close()
