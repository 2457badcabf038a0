"""`Client`: the application's handle on Clycyo.

`track()`, `identify()` and `page()` build one dict and hand it to the dispatcher's bounded
queue: they never wait for the network and never raise into the application. This module is the
public surface: options, event shapes, and reading the visitor from a web request. It holds no
queue or thread itself and never touches the network: queueing and lifecycle live in `dispatcher`,
batching in `batching`, HTTP in `delivery` and `transport`.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from clycyo_sdk.batching import Batcher
from clycyo_sdk.client_ip import ProxyTrust, TrustedProxies
from clycyo_sdk.consumer import Consumer, Pause
from clycyo_sdk.delivery import Delivery
from clycyo_sdk.dispatcher import Dispatcher
from clycyo_sdk.event_queue import EventQueue
from clycyo_sdk.events import Id, RevenueLike, Timestamp
from clycyo_sdk.middleware import current_request_context
from clycyo_sdk.request_context import VISITOR_COOKIE, RequestContext, read_request
from clycyo_sdk.retry import RetryPolicy
from clycyo_sdk.stats import ErrorCallback, Stats
from clycyo_sdk.transport import HTTPTransport, Transport, collect_url

DEFAULT_HOST = "http://127.0.0.1:8000"
MAX_BATCH_EVENTS = 500  # the collector answers 413 to larger batches
MAX_BODY_BYTES = 512 * 1024  # the collector's body limit, compressed or not
FLUSH_TIMEOUT_S = 10.0  # seconds that flush() and shutdown() wait by default
MAX_QUEUE_BYTES = 8 * 1024 * 1024  # about 8 MB of encoded events waiting at most

Props = Mapping[str, Any]
Context = Any  # a dict {"ip", "user_agent", "locale", "screen"} or a RequestContext


class Client:
    def __init__(
        self,
        secret_key: str,
        host: str = DEFAULT_HOST,
        *,
        sync_mode: bool = False,
        max_queue_size: int = 10_000,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
        flush_at: int = 100,
        flush_interval_s: float = 0.5,
        max_batch_bytes: int = 500_000,
        max_retries: int = 10,
        backoff_base_s: float = 0.5,
        max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
        gzip: bool = True,
        transport: Transport | None = None,
        on_error: ErrorCallback | None = None,
        enabled: bool = True,
        exit_flush_timeout_s: float | None = 5.0,
        trusted_proxies: TrustedProxies = None,
        proxy_header: str = "x-forwarded-for",
        visitor_cookie: str = VISITOR_COOKIE,
        ssl_context: ssl.SSLContext | None = None,
        proxy: str | None = None,
    ) -> None:
        """Options are checked here: a wrong one raises ValueError at start-up, not later."""
        if enabled and (not isinstance(secret_key, str) or not secret_key.strip()):
            raise ValueError("secret_key is required (the site's secret key)")
        if isinstance(secret_key, str):
            # A key read from a file or a mounted secret often ends with a newline, which no
            # header may carry: every request would fail. Messages never quote the key.
            secret_key = secret_key.strip()
            if enabled and not all("!" <= char <= "~" for char in secret_key):
                raise ValueError(
                    "secret_key has a character no HTTP header can carry "
                    "(a space, a control character or a non-ASCII letter)"
                )
        if not 1 <= flush_at <= MAX_BATCH_EVENTS:
            raise ValueError(f"flush_at must be between 1 and {MAX_BATCH_EVENTS}")
        if not 1024 <= max_batch_bytes <= MAX_BODY_BYTES:
            raise ValueError(f"max_batch_bytes must be between 1024 and {MAX_BODY_BYTES}")
        if max_queue_size < 1 or flush_interval_s < 0 or timeout_s <= 0:
            raise ValueError("max_queue_size must be >= 1, flush_interval_s >= 0, timeout_s > 0")
        if max_queue_bytes < 1024:
            raise ValueError("max_queue_bytes must be >= 1024")
        self.host = host
        self.transport: Transport = transport or HTTPTransport(
            collect_url(host), timeout_s=timeout_s, ssl_context=ssl_context, proxy=proxy
        )
        policy = RetryPolicy(
            max_retries=max_retries, backoff_base_s=backoff_base_s, max_backoff_s=max_backoff_s
        )
        self._trust = ProxyTrust(trusted_proxies, proxy_header)
        self._visitor_cookie = visitor_cookie
        transport_ = self.transport  # the factory must not hold the client (no reference cycle)

        def make_consumer(stats: Stats, source: EventQueue, pause: Pause) -> Consumer:
            batcher = Batcher(
                flush_at=flush_at,
                max_batch_bytes=max_batch_bytes,
                flush_interval_s=flush_interval_s,
            )
            delivery = Delivery(
                transport_,
                secret_key=secret_key,
                stats=stats,
                pause=pause,
                policy=policy,
                use_gzip=gzip,
            )
            return Consumer(source, batcher, delivery, stats)

        self._dispatcher = Dispatcher(
            make_consumer,
            max_queue_size=max_queue_size,
            max_queue_bytes=max_queue_bytes,
            sync_mode=sync_mode,
            enabled=enabled,
            exit_flush_timeout_s=exit_flush_timeout_s,
            on_error=on_error,
            on_close=self.transport.close,
        )
        self._enqueue = self._dispatcher.enqueue

    # -- events ---------------------------------------------------------------------------------

    def track(
        self,
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
        """Queue an event; True when queued (in sync mode: when the collector has it)."""
        try:
            return self._enqueue(
                {
                    "type": "event",
                    "name": name,
                    "event_id": event_id,
                    "visitor_id": visitor_id,
                    "user_id": user_id,
                    # A copy: the caller may reuse or change its dict after the call.
                    "props": dict(props) if props else None,
                    "revenue": None if revenue is None else _own_copy(revenue),
                    "order_id": order_id,
                    "timestamp": time.time() if timestamp is None else timestamp,
                    "context": None if context is None else _own_copy(context),
                }
            )
        except Exception:
            return self._failed_call("track")

    def identify(
        self,
        user_id: Id,
        *,
        visitor_id: Id | None = None,
        traits: Props | None = None,
        timestamp: Timestamp | None = None,
        event_id: Id | None = None,
        context: Context | None = None,
    ) -> bool:
        """Link `visitor_id` (the browser's) to your `user_id`, with optional traits."""
        try:
            return self._enqueue(
                {
                    "type": "identify",
                    "user_id": user_id,
                    "visitor_id": visitor_id,
                    "traits": dict(traits) if traits else None,
                    "event_id": event_id,
                    "timestamp": time.time() if timestamp is None else timestamp,
                    "context": None if context is None else _own_copy(context),
                }
            )
        except Exception:
            return self._failed_call("identify")

    def page(
        self,
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
        """A pageview seen by the server (for pages served without the browser tracker)."""
        try:
            return self._enqueue(
                {
                    "type": "pageview",
                    "url": url,
                    "title": title,
                    "referrer": referrer,
                    "event_id": event_id,
                    "visitor_id": visitor_id,
                    "user_id": user_id,
                    "props": dict(props) if props else None,
                    "timestamp": time.time() if timestamp is None else timestamp,
                    "context": None if context is None else _own_copy(context),
                }
            )
        except Exception:
            return self._failed_call("page")

    def _failed_call(self, method: str) -> bool:
        stats = self._dispatcher.stats
        stats.add("invalid")
        stats.log_once(
            f"call:{method}", logging.WARNING, "clycyo: %s() failed", method, exc_info=True
        )
        return False

    # -- events from a web request ------------------------------------------------------------

    def request_context(self, request: object) -> RequestContext:
        """Visitor id, IP, user agent and locale of a request; TypeError if it is unreadable."""
        return read_request(request, self._trust, self._visitor_cookie)

    def track_request(
        self,
        request: object,
        name: str,
        *,
        visitor_id: Id | None = None,
        user_id: Id | None = None,
        props: Props | None = None,
        revenue: RevenueLike | None = None,
        order_id: Id | None = None,
        timestamp: Timestamp | None = None,
        event_id: Id | None = None,
    ) -> bool:
        """`track()` with the visitor id and the end user's context read from `request`
        (None: the request that a Clycyo middleware is handling)."""
        found = self._context_of(request)
        return self.track(
            name,
            visitor_id=visitor_id or (found.visitor_id if found else None),
            user_id=user_id,
            props=props,
            revenue=revenue,
            order_id=order_id,
            timestamp=timestamp,
            event_id=event_id,
            context=found,
        )

    def identify_request(
        self,
        request: object,
        user_id: Id,
        *,
        visitor_id: Id | None = None,
        traits: Props | None = None,
        timestamp: Timestamp | None = None,
        event_id: Id | None = None,
    ) -> bool:
        """`identify()` with the visitor id and the end user's context read from `request`."""
        found = self._context_of(request)
        return self.identify(
            user_id,
            visitor_id=visitor_id or (found.visitor_id if found else None),
            traits=traits,
            timestamp=timestamp,
            event_id=event_id,
            context=found,
        )

    def _context_of(self, request: object) -> RequestContext | None:
        if request is None:
            return current_request_context()
        try:
            return self.request_context(request)
        except Exception:
            self._dispatcher.stats.log_once(
                "request",
                logging.WARNING,
                "clycyo: cannot read a request of type %s; sending without its visitor",
                type(request).__name__,
            )
            return None

    # -- delivery -------------------------------------------------------------------------------

    def flush(self, timeout: float | None = FLUSH_TIMEOUT_S) -> bool:
        """Block until every event queued so far is delivered, or `timeout` seconds pass
        (None: wait as long as it takes).

        True when all reached the collector (accepted, duplicate, ignored as bot traffic, or
        rejected into its quarantine); False on timeout or when some were given up.
        """
        return self._dispatcher.flush(timeout)

    def shutdown(self, timeout: float | None = FLUSH_TIMEOUT_S) -> bool:
        """Flush, stop the consumer thread and close the connection; later events are dropped.
        Retries still pending when `timeout` seconds have passed are given up."""
        return self._dispatcher.shutdown(timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()

    @property
    def dropped(self) -> int:
        """Events refused by `track()`: the queue was full, or the client was shut down."""
        return self._dispatcher.stats.get("dropped")

    @property
    def sent(self) -> int:
        """Events the collector accepted."""
        return self._dispatcher.stats.get("sent")

    @property
    def failed(self) -> int:
        """Events given up after the retries, or refused with their whole batch."""
        return self._dispatcher.stats.get("failed")

    @property
    def rejected(self) -> int:
        """Events the collector refused one by one (they are in its quarantine)."""
        return self._dispatcher.stats.get("rejected")

    def stats(self) -> dict[str, int]:
        """Every counter: dropped, invalid, sent, duplicates, ignored, rejected, failed, and
        queued."""
        counts = self._dispatcher.stats.snapshot()
        counts["queued"] = self._dispatcher.queue.qsize()
        return counts


def _own_copy(value: Any) -> Any:
    """A dict or list the caller may change after the call, copied: the event is encoded later,
    in the consumer thread. One level is enough: revenue and context hold plain values."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


__all__ = ["DEFAULT_HOST", "Client"]
