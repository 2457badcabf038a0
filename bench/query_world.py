"""A month of realistic traffic for one site, generated straight into a DuckDB store.

Visitors arrive through a mix of channels (acquisition fields computed by the real pipeline step
`enrich_source` from real-looking URLs and referrers), view pages with Zipf-like popularity, and
each page load brings what the tracker sends: engagement, web vitals, now and then a click or an
error. Some visitors sign up (`signup`, `identify`), some of them pay (server `payment`, often a
browser `purchase` copy of the same order), a few payments are refunded, some users come back on
a second device. Events go through the real deriver (visits, identity links) and the store's
write path, without HTTP or the intake log. Everything is seeded: the same arguments make the
same world.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from clycyo.identity.compaction import compact
from clycyo.identity.deriver import IdentityDeriver
from clycyo.model import Event, Hit
from clycyo.pipeline.source import enrich_source
from clycyo.store.columns import fingerprint, to_arrow
from clycyo.store.duckdb.store import DuckDBStore

DOMAIN = "bench.example"
DAY_US = 86_400 * 1_000_000
EVENTS_PER_VISIT = 12.78  # measured on this generator; sizes the number of visits
LANDINGS = [  # (weight, landing query, referrer)
    (34, "", ""),
    (16, "", "https://www.google.com/"),
    (4, "", "https://www.google.de/"),
    (3, "", "https://www.bing.com/"),
    (2, "", "https://duckduckgo.com/"),
    (5, "?gclid=abc123", "https://www.google.com/"),
    (2, "?utm_source=google&utm_medium=cpc&utm_campaign=brand", ""),
    (4, "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly", ""),
    (4, "", "https://news.ycombinator.com/"),
    (3, "", "https://www.reddit.com/r/analytics/"),
    (3, "", "https://t.co/xyz"),
    (2, "?utm_source=twitter&utm_medium=paid_social&utm_campaign=launch", ""),
    (2, "", "https://www.linkedin.com/feed/"),
    (3, "", "https://blog.partner.io/posts/analytics"),
    (2, "", "https://github.com/clycyo/clycyo"),
    (2, "?ref=producthunt", ""),
    (1, "", "https://www.youtube.com/watch?v=1"),
    (2, "", "https://some-forum.net/thread/42"),
    (1, "?utm_source=affiliate&utm_medium=affiliate&utm_campaign=q3", ""),
    (1, "?fbclid=IwAR0", "https://l.facebook.com/"),
]
PLACES = [  # (weight, country, region, browser, os, device)
    (30, "US", "US-CA", "Chrome", "Windows", "desktop"),
    (12, "US", "US-NY", "Safari", "iOS", "mobile"),
    (10, "DE", "DE-BE", "Firefox", "Linux", "desktop"),
    (8, "GB", "GB-ENG", "Chrome", "macOS", "desktop"),
    (7, "FR", "FR-IDF", "Chrome", "Android", "mobile"),
    (6, "IN", "IN-KA", "Chrome", "Android", "mobile"),
    (5, "BR", "BR-SP", "Chrome", "Windows", "desktop"),
    (4, "JP", "JP-13", "Safari", "iOS", "mobile"),
    (4, "CA", "CA-ON", "Edge", "Windows", "desktop"),
    (3, "NL", "NL-NH", "Safari", "macOS", "desktop"),
    (3, "ES", "ES-MD", "Chrome", "Android", "tablet"),
    (2, "AU", "AU-NSW", "Safari", "iOS", "tablet"),
    (2, "SE", "SE-AB", "Firefox", "Windows", "desktop"),
    (2, "PL", "PL-MZ", "Chrome", "Windows", "desktop"),
    (2, "IT", "IT-RM", "Chrome", "Android", "mobile"),
]
VITALS = [("TTFB", 0.9, 300.0), ("FCP", 0.9, 1200.0), ("LCP", 0.85, 2000.0), ("CLS", 0.85, 0.05)]
VITALS += [("INP", 0.4, 150.0)]
PLANS = [("19.00", 5), ("49.00", 3), ("99.00", 1)]


@dataclass
class Landing:
    url_query: str
    referrer: str | None
    fields: dict[str, str | None]


def _landings() -> tuple[list[Landing], list[int]]:
    found, weights = [], []
    for weight, query, referrer in LANDINGS:
        hit = Hit(site_id=1, trusted=True, origin="browser", received_us=0)
        hit.url = f"https://{DOMAIN}/{query}"
        hit.referrer = referrer or None
        enrich_source(hit, None)  # type: ignore[arg-type]  # the step reads no context
        keys = ("referrer_host", "source", "channel", "utm_source", "utm_medium")
        keys += ("utm_campaign", "utm_term", "utm_content", "click_id")
        found.append(Landing(query, referrer or None, {k: getattr(hit, k) for k in keys}))
        weights.append(weight)
    return found, weights


def _pages(rng: random.Random) -> list[str]:
    pages = ["/", "/pricing", "/features", "/docs", "/blog", "/about", "/signup", "/login"]
    pages += [f"/blog/post-{n}" for n in range(120)]
    pages += [f"/docs/{section}/{n}" for section in ("start", "api", "guides") for n in range(50)]
    rng.shuffle(pages[8:])
    return pages


class World:
    """Generates events day by day; `events()` yields them in time order per day."""

    def __init__(self, total_events: int, days: int, seed: int, end: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.visits_per_day = max(1, int(total_events / EVENTS_PER_VISIT / days))
        self.end_us = int(end.timestamp()) * 1_000_000
        self.start_us = self.end_us - days * DAY_US
        self.landings, self.landing_weights = _landings()
        self.places = [p[1:] for p in PLACES]
        self.place_weights = [p[0] for p in PLACES]
        self.pages = _pages(self.rng)
        self.page_weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(self.pages))]
        self.visitors: list[tuple[str, tuple[str, ...]]] = []
        self.users: dict[str, str] = {}  # visitor id → user id
        self.user_count = 0
        self.orders = 0
        self.late_refunds: list[tuple[int, str, str, str]] = []  # time, user, amount, order
        self.sequence = 0

    def _id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def _event(self, **fields: object) -> Event:
        self.sequence += 1
        return Event(site_id=1, event_id=f"b{self.sequence}", **fields)  # type: ignore[arg-type]

    def day(self, index: int) -> list[Event]:
        rng = self.rng
        day_start = self.start_us + index * DAY_US
        weekday = dt.datetime.fromtimestamp(day_start / 1e6, dt.UTC).weekday()
        count = int(self.visits_per_day * (0.8 if weekday >= 5 else 1.08) * rng.uniform(0.9, 1.1))
        events: list[Event] = []
        for _ in range(count):
            # Diurnal traffic: a bump in the (UTC) afternoon.
            hour = min(23.99, max(0.0, rng.gauss(14.0, 4.5)))
            start = day_start + int(hour * 3600 * 1e6) + rng.randrange(60_000_000)
            events.extend(self._visit(start))
        due = [r for r in self.late_refunds if r[0] < day_start + DAY_US]
        self.late_refunds = [r for r in self.late_refunds if r[0] >= day_start + DAY_US]
        for when, user, amount, order in due:
            events.append(
                self._event(
                    time_us=when,
                    received_us=when,
                    origin="server",
                    type="event",
                    name="refund",
                    user_id=user,
                    revenue_amount=amount,
                    revenue_currency="USD",
                    order_id=f"re_{order}",
                )
            )
        events.sort(key=lambda e: e.time_us)
        return [e for e in events if e.time_us < self.end_us]

    def _visit(self, start: int) -> list[Event]:
        rng = self.rng
        if self.visitors and rng.random() < 0.35:
            visitor, place = self.visitors[int(len(self.visitors) * rng.random() ** 0.5)]
        else:
            visitor = self._id()
            place = tuple(rng.choices(self.places, self.place_weights)[0])
            self.visitors.append((visitor, place))
        country, region, browser, os_name, device = place
        landing = rng.choices(self.landings, self.landing_weights)[0]
        session = self._id()
        pageviews = 1
        while rng.random() < 0.55 and pageviews < 30:
            pageviews += 1
        t = start
        events: list[Event] = []
        page = "/" if rng.random() < 0.45 else rng.choices(self.pages, self.page_weights)[0]
        common = dict(
            received_us=0,
            origin="browser",
            visitor_id=visitor,
            visitor_kind="cookie",
            session_id=session,
            hostname=DOMAIN,
            country=country,
            region=region,
            browser=browser,
            os=os_name,
            device=device,
        )
        user = self.users.get(visitor)
        for number in range(pageviews):
            url = f"https://{DOMAIN}{page}" + (landing.url_query if number == 0 else "")
            extra = landing.fields if number == 0 else {"channel": None}
            events.append(
                self._event(
                    time_us=t,
                    type="pageview",
                    name="pageview",
                    url=url,
                    page=page,
                    referrer=landing.referrer if number == 0 else None,
                    **common,
                    **extra,
                )
            )
            stay = int(rng.expovariate(1 / 45.0) * 1e6) + 2_000_000
            for metric, chance, typical in VITALS:
                if rng.random() < chance:
                    value = rng.lognormvariate(0, 0.6) * typical
                    at = t + (1_000_000 if metric in ("TTFB", "FCP") else stay)
                    events.append(
                        self._event(
                            time_us=at,
                            type="event",
                            name="web_vital",
                            url=url,
                            page=page,
                            props={"metric": metric, "value": f"{value:.4g}"},
                            **common,
                        )
                    )
            if rng.random() < 0.9:
                events.append(
                    self._event(
                        time_us=t + stay,
                        type="event",
                        name="engagement",
                        url=url,
                        page=page,
                        props={
                            "engaged_ms": str(stay // 1000),
                            "scroll_depth": str(rng.randrange(100)),
                        },
                        **common,
                    )
                )
            for name, chance in (
                ("outbound_click", 0.03),
                ("js_error", 0.01),
                ("rage_click", 0.005),
            ):
                if rng.random() < chance:
                    events.append(
                        self._event(
                            time_us=t + stay // 2,
                            type="event",
                            name=name,
                            url=url,
                            page=page,
                            props={"message": "TypeError: x is undefined"}
                            if name == "js_error"
                            else None,
                            **common,
                        )
                    )
            if page == "/pricing" and user is None and rng.random() < 0.12:
                user = self._signup(events, visitor, t + stay // 2, url, common)
            t += stay + rng.randrange(1_000_000, 20_000_000)
            page = rng.choices(self.pages, self.page_weights)[0]
            if page == "/pricing" and number == 0 and rng.random() < 0.5:
                page = "/pricing"
        if user is not None and visitor not in self.users:
            pass
        return events

    def _signup(
        self, events: list[Event], visitor: str, t: int, url: str, common: dict[str, object]
    ) -> str:
        rng = self.rng
        if rng.random() < 0.1 and self.users:
            user = rng.choice(list(self.users.values()))  # a known user on a second device
        else:
            self.user_count += 1
            user = f"user-{self.user_count}"
        self.users[visitor] = user
        events.append(
            self._event(time_us=t, type="event", name="signup", url=url, page="/pricing", **common)
        )
        events.append(
            self._event(
                time_us=t + 1000,
                type="identify",
                name="identify",
                url=url,
                page="/pricing",
                user_id=user,
                **common,
            )
        )
        events.append(
            self._event(
                time_us=t + 500_000,
                received_us=0,
                origin="server",
                type="event",
                name="signup",
                user_id=user,
                visitor_id=visitor,
            )
        )
        if rng.random() < 0.3:
            self.orders += 1
            amount = rng.choices([p[0] for p in PLANS], [p[1] for p in PLANS])[0]
            currency = "EUR" if rng.random() < 0.05 else "USD"
            order = f"inv_{self.orders}"
            paid = t + rng.randrange(30_000_000, 600_000_000)
            with_visitor = rng.random() < 0.6
            events.append(
                self._event(
                    time_us=paid,
                    received_us=0,
                    origin="server",
                    type="event",
                    name="payment",
                    user_id=user,
                    visitor_id=visitor if with_visitor else None,
                    revenue_amount=amount,
                    revenue_currency=currency,
                    order_id=order,
                )
            )
            if rng.random() < 0.5:
                events.append(
                    self._event(
                        time_us=paid - 2_000_000,
                        type="event",
                        name="purchase",
                        url=url,
                        page="/pricing",
                        revenue_amount=amount,
                        revenue_currency=currency,
                        order_id=order,
                        **common,
                    )
                )
            if rng.random() < 0.06:
                part = amount if rng.random() < 0.6 else f"{float(amount) / 2:.2f}"
                when = paid + rng.randrange(DAY_US, 10 * DAY_US)
                self.late_refunds.append((when, user, f"-{part}", order))
        return user


def _generate(total_events: int, days: int, seed: int, end: dt.datetime, out: Any) -> None:
    """The generator's process: each day's events, msgpack-encoded, into `out`."""
    world = World(total_events, days, seed, end)
    encode = msgspec.msgpack.Encoder().encode
    for index in range(days):
        out.put(encode(world.day(index)))
    out.put((world.user_count, world.orders))


def load(
    store: DuckDBStore,
    total_events: int,
    *,
    days: int = 30,
    seed: int = 7,
    end: dt.datetime | None = None,
    progress: Callable[[str], None] = print,
    batch_events: int = 100_000,
) -> dict[str, float]:
    """Generate and store the world; returns counts and the seconds spent.

    Generating runs in a second process while this one derives and writes, day by day."""
    end = end or dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    context = multiprocessing.get_context("fork")
    days_out: Any = context.Queue(maxsize=3)
    generator = context.Process(
        target=_generate, args=(total_events, days, seed, end, days_out), daemon=True
    )
    generator.start()
    decode = msgspec.msgpack.Decoder(list[Event]).decode
    deriver = IdentityDeriver(store)
    started = time.perf_counter()
    stored = 0
    seq = int(store.execute("SELECT value FROM meta WHERE key = 'intake_seq'")[0][0])
    for index in range(days):
        events = decode(days_out.get())
        for begin in range(0, len(events), batch_events):
            batch = events[begin : begin + batch_events]
            for event in batch:
                event.received_us = event.time_us
            derived = deriver.derive(batch)
            seq += 1
            fingerprints = [fingerprint(1, e.event_id) for e in batch]
            table = to_arrow(batch, fingerprints, [seq] * len(batch), derived.visit_ids)
            # `all_tables`: with `actions`, copied from the events' table as the writer does.
            store.write(table, seq=seq, superseded=[], derived=derived.all_tables(table))
            deriver.commit()
            stored += len(batch)
        if index % 3 == 2 or index == days - 1:
            folded = compact(store)
            elapsed = time.perf_counter() - started
            progress(
                f"  day {index + 1}/{days}: {stored:,} events, {folded:,} folded, {elapsed:.0f} s"
            )
    users, orders = days_out.get()
    generator.join()
    return {
        "events": stored,
        "seconds": time.perf_counter() - started,
        "users": users,
        "orders": orders,
    }


def iter_days(world: World) -> Iterator[list[Event]]:
    for index in range(world.days):
        yield world.day(index)
