"""The `identify` step: who sent the event, as an anonymous visitor id.

A browser with a cookie sends its visitor id. Without one (cookieless mode, or a backend that
forwards only the end user's IP and user agent) the id is a hash of today's random salt, the site,
the IP and the user agent: stable for a day, unlinkable after the salt is deleted. A visit that
crosses midnight keeps yesterday's hash while that visitor is still active. Sessions (visits) and
the link to a user id are resolved by the store and the query layer, not here.
"""

from __future__ import annotations

import hashlib

from clycyo.model import Drop, Hit
from clycyo.pipeline.context import Context


def visitor_hash(salt: bytes, site_id: int, ip: str, user_agent: str) -> str:
    digest = hashlib.blake2b(
        f"{site_id}\x00{ip}\x00{user_agent}".encode(), key=salt, digest_size=12
    ).hexdigest()
    return "h_" + digest


def identify(hit: Hit, ctx: Context) -> Hit | Drop:
    if hit.visitor_id is not None:
        hit.visitor_kind = "cookie"
        return hit
    if hit.ip is None or hit.user_id is not None:
        # A server event naming only the user joins that user's person; nothing to hash.
        return hit
    today, yesterday = ctx.salts.for_time(hit.received_us)
    user_agent = hit.user_agent or ""
    current = visitor_hash(today, hit.site_id, hit.ip, user_agent)
    chosen = current
    if yesterday is not None and not ctx.active_hashes.active(current, hit.received_us):
        previous = visitor_hash(yesterday, hit.site_id, hit.ip, user_agent)
        if ctx.active_hashes.active(previous, hit.received_us):
            chosen = previous
    ctx.active_hashes.touch(chosen, hit.received_us)
    hit.visitor_id = chosen
    hit.visitor_kind = "hash"
    return hit
