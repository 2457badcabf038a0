"""Delivering one batch: the request, its retries, and what the collector's answer means.

Runs in the consumer thread, or inline in sync mode, and never raises: every outcome ends in the
counters, in a log line without payloads and, for events that are lost or rejected, in the
application's `on_error`. Backoff waits go through `pause`, which a shutdown deadline cuts short.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import time
from collections.abc import Sequence
from typing import Any, Callable

from clycyo_sdk.events import Event
from clycyo_sdk.retry import RetryPolicy, is_retryable, parse_retry_after
from clycyo_sdk.stats import DeliveryError, Stats, logger
from clycyo_sdk.transport import Response, Transport
from clycyo_sdk.version import VERSION

USER_AGENT = f"clycyo-sdk-python/{VERSION}"
_MAX_LOGGED_REJECTIONS = 5


def build_body(encoded: Sequence[bytes], *, sent_at_ms: float) -> bytes:
    """The batch envelope around already-encoded events: no event is encoded twice."""
    return b'{"batch":[%s],"sent_at":%s}' % (b",".join(encoded), repr(sent_at_ms).encode())


class Delivery:
    def __init__(
        self,
        transport: Transport,
        *,
        secret_key: str,
        stats: Stats,
        pause: Callable[[float], bool],
        policy: RetryPolicy | None = None,
        use_gzip: bool = True,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._transport = transport
        self._stats = stats
        self._pause = pause
        self._policy = policy or RetryPolicy()
        self._use_gzip = use_gzip
        self._wall_clock = wall_clock
        self._rand = rand
        self._secret_key = secret_key
        self._headers = {
            "Authorization": f"Bearer {secret_key}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if use_gzip:
            self._headers["Content-Encoding"] = "gzip"

    def deliver(self, events: Sequence[Event], encoded: Sequence[bytes]) -> bool:
        """Send one batch until it is answered or given up; True when the collector has it."""
        retry_number = 0
        while True:
            response, error = self._attempt(encoded)
            status = None if response is None else response.status
            if response is not None and 200 <= response.status <= 299:
                self._record_answer(events, response)
                if retry_number:
                    logger.info("clycyo: delivered after %d retries", retry_number)
                return True
            if status == 413 and len(events) > 1:
                # The collector's size limit is lower than ours: halve until it fits.
                half = len(events) // 2
                first = self.deliver(events[:half], encoded[:half])
                return self.deliver(events[half:], encoded[half:]) and first
            if not is_retryable(status):
                self._stats.log_once(
                    f"status:{status}",
                    logging.ERROR,
                    "clycyo: the collector refused %d event(s), not retried: %s",
                    len(events),
                    error,
                )
                self._lose(events, DeliveryError(error, status=status))
                return False
            if retry_number >= self._policy.max_retries:
                logger.warning(
                    "clycyo: gave up on %d event(s) after %d retries: %s",
                    len(events),
                    retry_number,
                    error,
                )
                self._lose(events, DeliveryError(f"gave up: {error}", status=status))
                return False
            retry_after_s = None
            if response is not None:
                retry_after_s = parse_retry_after(
                    response.headers.get("retry-after"), now_s=self._wall_clock()
                )
            delay_s = self._policy.delay_s(
                retry_number, retry_after_s=retry_after_s, rand=self._rand
            )
            logger.debug("clycyo: %s; retry %d in %.2f s", error, retry_number + 1, delay_s)
            if not self._pause(delay_s):
                # Once per client: past the deadline every batch still queued ends here.
                self._stats.log_once(
                    "deadline",
                    logging.WARNING,
                    "clycyo: %d event(s) not delivered before the shutdown deadline: %s",
                    len(events),
                    error,
                )
                self._lose(events, DeliveryError(f"shutdown deadline: {error}", status=status))
                return False
            retry_number += 1

    def _attempt(self, encoded: Sequence[bytes]) -> tuple[Response | None, str]:
        # sent_at is stamped per attempt: the collector corrects clock skew with it, and a
        # retried body is sent later than the first one.
        body = build_body(encoded, sent_at_ms=round(self._wall_clock() * 1000.0, 3))
        if self._use_gzip:
            body = gzip.compress(body, compresslevel=6, mtime=0)
        try:
            response = self._transport.send(body, self._headers)
        except Exception as exc:
            reason = f"network error ({type(exc).__name__}: {exc})"
            # A transport's error may quote the request's headers; the reason is logged and
            # handed to on_error, so the key is cut out of it.
            if self._secret_key:
                reason = reason.replace(self._secret_key, "[secret key]")
            return None, reason
        return response, _describe(response)

    def _record_answer(self, events: Sequence[Event], response: Response) -> None:
        answer = _json_object(response.body)
        rejected = [
            (item["index"], str(item.get("error", "")))
            for item in answer.get("rejected") or []
            if isinstance(item, dict)
            and isinstance(item.get("index"), int)
            and 0 <= item["index"] < len(events)
        ]
        duplicates = _count(answer.get("duplicates"), 0)
        ignored = _count(answer.get("ignored"), 0)
        accepted = _count(
            answer.get("accepted"), len(events) - len(rejected) - duplicates - ignored
        )
        self._stats.add("sent", accepted)
        self._stats.add("duplicates", duplicates)
        if ignored:
            self._stats.add("ignored", ignored)
            # Not an error: the end user's forwarded `context.user_agent` was a bot's, or the
            # site excludes that traffic. The answer does not say which events, only how many.
            self._stats.log_once(
                "ignored",
                logging.INFO,
                "clycyo: the collector ignored %d event(s) as bot or excluded traffic",
                ignored,
            )
        if not rejected:
            return
        self._stats.add("rejected", len(rejected))
        for index, reason in rejected[:_MAX_LOGGED_REJECTIONS]:
            self._stats.log_once(
                f"rejected:{reason}",
                logging.WARNING,
                "clycyo: the collector rejected event %r: %s",
                events[index].get("name") or events[index].get("type"),
                reason,
            )
        for index, reason in rejected:
            self._stats.report(
                DeliveryError(f"rejected: {reason}", status=response.status), [events[index]]
            )

    def _lose(self, events: Sequence[Event], error: DeliveryError) -> None:
        self._stats.add("failed", len(events))
        self._stats.report(error, events)


def _describe(response: Response) -> str:
    detail = _json_object(response.body).get("error")
    text = f"HTTP {response.status}"
    return f"{text} ({str(detail)[:200]})" if detail else text


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _count(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else max(default, 0)
