"""Placeholder for the `enrich_source` step while it is being written."""

from __future__ import annotations

from clycyo.model import Drop, Hit
from clycyo.pipeline.context import Context


def enrich_source(hit: Hit, ctx: Context) -> Hit | Drop:
    return hit
