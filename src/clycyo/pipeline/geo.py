"""Placeholder for the `enrich_geo` step while it is being written."""

from __future__ import annotations

from clycyo.model import Drop, Hit
from clycyo.pipeline.context import Context


def enrich_geo(hit: Hit, ctx: Context) -> Hit | Drop:
    return hit
