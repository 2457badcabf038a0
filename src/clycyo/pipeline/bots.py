"""Placeholder for the `filter_bots` step while it is being written."""

from __future__ import annotations

from clycyo.model import Drop, Hit
from clycyo.pipeline.context import Context


def filter_bots(hit: Hit, ctx: Context) -> Hit | Drop:
    return hit
