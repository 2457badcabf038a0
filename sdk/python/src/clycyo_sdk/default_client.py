"""The module-level shortcuts: `clycyo_sdk.init()` once, then `clycyo_sdk.track(...)` anywhere.

They act on one default client and, like its methods, never raise: before `init()` they log one
warning and do nothing. `init()` itself raises for a missing key or a bad option.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from clycyo_sdk.client import DEFAULT_HOST, FLUSH_TIMEOUT_S, Client, Context, Props
from clycyo_sdk.events import Id, RevenueLike, Timestamp
from clycyo_sdk.stats import logger

_lock = threading.Lock()
_default: Client | None = None
_warned = threading.Event()  # the "call init() first" warning is logged once


def init(secret_key: str | None = None, host: str | None = None, **options: Any) -> Client:
    """Create the default client. `secret_key` and `host` default to the environment variables
    CLYCYO_SECRET_KEY and CLYCYO_HOST; `options` are those of `Client`."""
    global _default
    key = secret_key or os.environ.get("CLYCYO_SECRET_KEY", "")
    client = Client(key, host or os.environ.get("CLYCYO_HOST") or DEFAULT_HOST, **options)
    with _lock:
        previous, _default = _default, client
    if previous is not None:
        previous.shutdown()
    return client


def get_client() -> Client | None:
    return _default


def _client() -> Client | None:
    client = _default
    if client is None and not _warned.is_set():
        _warned.set()
        logger.warning("clycyo: call clycyo_sdk.init() before track(); events are ignored")
    return client


def track(
    name: str,
    *,
    visitor_id: Id | None = None,
    user_id: Id | None = None,
    props: Props | None = None,
    revenue: RevenueLike | None = None,
    order_id: Id | None = None,
    timestamp: Timestamp | None = None,
    event_id: Id | None = None,
    context: Context | None = None,
) -> bool:
    client = _client()
    if client is None:
        return False
    return client.track(
        name,
        visitor_id=visitor_id,
        user_id=user_id,
        props=props,
        revenue=revenue,
        order_id=order_id,
        timestamp=timestamp,
        event_id=event_id,
        context=context,
    )


def identify(
    user_id: Id,
    *,
    visitor_id: Id | None = None,
    traits: Props | None = None,
    timestamp: Timestamp | None = None,
    event_id: Id | None = None,
    context: Context | None = None,
) -> bool:
    client = _client()
    if client is None:
        return False
    return client.identify(
        user_id,
        visitor_id=visitor_id,
        traits=traits,
        timestamp=timestamp,
        event_id=event_id,
        context=context,
    )


def page(
    url: str,
    *,
    visitor_id: Id | None = None,
    user_id: Id | None = None,
    title: str | None = None,
    referrer: str | None = None,
    props: Props | None = None,
    timestamp: Timestamp | None = None,
    event_id: Id | None = None,
    context: Context | None = None,
) -> bool:
    client = _client()
    if client is None:
        return False
    return client.page(
        url,
        visitor_id=visitor_id,
        user_id=user_id,
        title=title,
        referrer=referrer,
        props=props,
        timestamp=timestamp,
        event_id=event_id,
        context=context,
    )


def flush(timeout: float | None = FLUSH_TIMEOUT_S) -> bool:
    """`Client.flush` of the default client; True at once before `init()`."""
    client = _default
    return True if client is None else client.flush(timeout)


def shutdown(timeout: float | None = FLUSH_TIMEOUT_S) -> bool:
    """`Client.shutdown` of the default client, which is then forgotten (`init()` makes anew)."""
    global _default
    with _lock:
        client, _default = _default, None
    return True if client is None else client.shutdown(timeout)
