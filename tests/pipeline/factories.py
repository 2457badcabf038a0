"""Hits and contexts for calling pipeline steps directly."""

from __future__ import annotations

from typing import Any

from clycyo.model import Hit
from clycyo.pipeline.context import Context
from clycyo.pipeline.salts import SaltRing

NOW_US = 1_790_000_000_000_000  # 2026-09-21


def make_context() -> Context:
    return Context(salts=SaltRing())


def make_hit(**fields: Any) -> Hit:
    defaults: dict[str, Any] = {
        "site_id": 1,
        "trusted": False,
        "origin": "browser",
        "received_us": NOW_US,
        "type": "pageview",
        "name": "pageview",
        "url": "https://example.com/",
        "ip": "8.8.8.8",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    }
    defaults.update(fields)
    return Hit(**defaults)
