"""Two synthetic but plausible months of a small SaaS: visitors, their visits, signups and money.

People arrive from search, social, newsletters, ads and referrals, and come back directly or
through a search for the product's name, an email or a retargeting ad (so a customer's first and
last touch differ, as a real shop's do); they browse the marketing pages; some read the docs,
some try the pricing page and the checkout; some hit a JavaScript error, a rage click or a
sluggish (poor INP) checkout and give up more often than others. Signups are
identified, monthly payments (until a customer churns) and refunds come from the server.
Customers who signed up before the window keep renewing in it, so a period compares with the
one before it as a going business would, not with an empty start. Browsers report the web
vitals they support (Safari neither LCP nor INP). Everything is drawn from a seeded random
generator, so a seed gives the same world every time. Past its end the world goes on as live
visits (`World.live_visits`), the same people doing the same things. This module produces
wire-format event dicts; it sends nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from clycyo.demo.audience import (
    ACQUISITION,
    COUNTRIES,
    DEVICES,
    JS_ERRORS,
    PAGES,
    PLANS,
    RETURNS,
    VITALS_BY_ENGINE,
    Acquisition,
)

DAY_MS = 86_400_000
MINUTE_MS = 60_000
DEFAULT_DAYS = 60  # two 30-day periods: the dashboard's default range and the one before it
DEFAULT_VISITORS_PER_DAY = 220
MONTH_MS = 30 * DAY_MS
CHURN_PER_RENEWAL = 0.06  # a customer cancels instead of paying the next month
REFUND_RATE = 0.05  # of payments
# Customers from before the window: signups per visitor-day of traffic, over this many months.
EARLIER_SIGNUPS_PER_VISITOR = 0.04
EARLIER_MONTHS = 4
# Of those, the share who first came days before the visit they signed up on (and came back
# through another channel, perhaps); the others signed up on their first visit.
EARLIER_RETURNING = 0.6
# Live visits: the share that are a recent live visitor's return, among how many remembered.
LIVE_RETURNING = 0.25
LIVE_REMEMBERED = 200


@dataclass
class Visitor:
    visitor_id: str
    ip: str
    user_agent: str
    acquisition: Acquisition
    user_id: str | None = None
    plan: tuple[str, str] | None = None

    @property
    def engine(self) -> str:
        if "Chrome/" in self.user_agent:
            return "chromium"
        return "firefox" if "Firefox/" in self.user_agent else "webkit"


class World:
    """Events of `days` days ending at `end_ms`, in time order per visitor."""

    def __init__(
        self,
        domain: str,
        *,
        days: int,
        visitors_per_day: int,
        seed: int,
        end_ms: int,
        users_before: int = 0,
    ):
        """`users_before`: where the numbers of this world's customers (`user_N`) start."""
        self.domain = domain
        self.days = days
        self.visitors_per_day = visitors_per_day
        self.random = random.Random(seed)
        self.end_ms = end_ms
        self.users = users_before

    def _pick(self, table: tuple[tuple[int, object], ...] | tuple[Acquisition, ...]) -> object:
        weights = [row[0] for row in table]
        return self.random.choices(table, weights=weights)[0]

    def _ip(self) -> str:
        pattern = self._pick(COUNTRIES)[1]  # type: ignore[index]
        return str(pattern).format(self.random.randint(0, 255), self.random.randint(1, 254))

    def _visitor(self) -> Visitor:
        return Visitor(
            visitor_id=uuid.UUID(int=self.random.getrandbits(128)).hex,
            ip=self._ip(),
            user_agent=str(self._pick(DEVICES)[1]),  # type: ignore[index]
            acquisition=self._pick(ACQUISITION),  # type: ignore[arg-type]
        )

    def visitors(self) -> Iterator[tuple[Visitor, int]]:
        """Each new visitor with the time of their first visit."""
        start_ms = self.end_ms - self.days * DAY_MS
        for day in range(self.days):
            # Weekdays are busier; traffic grows a little over the month.
            weekday = (start_ms // DAY_MS + day + 4) % 7
            load = (0.6 if weekday >= 5 else 1.0) * (0.85 + 0.3 * day / max(1, self.days))
            for _ in range(int(self.visitors_per_day * load)):
                hour_ms = int(self.random.triangular(0, DAY_MS, DAY_MS * 0.6))
                first_ms = start_ms + day * DAY_MS + hour_ms
                yield self._visitor(), first_ms

    def events(self) -> Iterator[dict[str, object]]:
        """Every event up to the end of the world (later ones are not yet due)."""
        end_ms = self.end_ms
        for event in self._all_events():
            if int(event["timestamp"]) <= end_ms:  # type: ignore[call-overload]
                yield event

    def _all_events(self) -> Iterator[dict[str, object]]:
        for visitor, first_ms in self.visitors():
            visit_ms = first_ms
            for number in range(self.random.choice((1, 1, 1, 2, 2, 3))):
                if visit_ms >= self.end_ms:
                    break
                arrival = visitor.acquisition if number == 0 else self._return()
                yield from self._visit(visitor, visit_ms, arrival)
                visit_ms += int(self.random.expovariate(1 / (3 * DAY_MS)))
        yield from self._earlier_customers()

    def live_visits(
        self, start_ms: int, visitors_per_minute: float
    ) -> Iterator[list[dict[str, object]]]:
        """Visits from `start_ms` on, without end, each as its events: visitors arriving at
        random (`visitors_per_minute` on average), now and then one of them coming back the way
        returning visitors do. A new customer's first payment comes in their visit, as in the
        history; their renewals, a month on, are left out."""
        returning: list[Visitor] = []
        at_ms = start_ms
        while True:
            at_ms += int(self.random.expovariate(visitors_per_minute) * MINUTE_MS)
            self.end_ms = at_ms + DAY_MS  # a signup's payments stop here: the first one only
            if returning and self.random.random() < LIVE_RETURNING:
                visitor, arrival = self.random.choice(returning), self._return()
            else:
                visitor = self._visitor()
                arrival = visitor.acquisition
                returning = [*returning[-LIVE_REMEMBERED + 1 :], visitor]
            yield list(self._visit(visitor, at_ms, arrival))

    def _earlier_customers(self) -> Iterator[dict[str, object]]:
        """Customers who signed up before the window: their signup visit, then their payments."""
        rnd = self.random
        start_ms = self.end_ms - self.days * DAY_MS
        earlier_ms = EARLIER_MONTHS * MONTH_MS
        count = int(self.visitors_per_day * EARLIER_SIGNUPS_PER_VISITOR * EARLIER_MONTHS * 30)
        for _ in range(count):
            at_ms = start_ms - int(rnd.random() * earlier_ms)
            visitor = self._visitor()
            arrival = visitor.acquisition
            if rnd.random() < EARLIER_RETURNING:
                first_ms = at_ms - int(rnd.expovariate(1 / (4 * DAY_MS))) - DAY_MS // 2
                yield self._landing(visitor, first_ms, self._session(), arrival, "/")
                arrival = self._return()
            session = self._session()
            yield self._landing(visitor, at_ms, session, arrival, "/pricing")
            yield from self._signup(visitor, at_ms + 60_000, session)

    def _return(self) -> Acquisition:
        return self._pick(RETURNS)  # type: ignore[return-value]

    def _session(self) -> str:
        return uuid.UUID(int=self.random.getrandbits(128)).hex[:16]

    def _landing(
        self, visitor: Visitor, at_ms: int, session: str, arrival: Acquisition, page: str
    ) -> dict[str, object]:
        """A visit's first pageview: its URL carries the campaign tags and the ad's click id."""
        _, referrer, utm, click_id = arrival
        query = "&".join(
            part
            for part in (utm, f"{click_id}=x{self.random.randrange(10**6)}" if click_id else "")
            if part
        )
        return self._browser(
            visitor,
            at_ms,
            session,
            type="pageview",
            url=f"https://{self.domain}{page}" + (f"?{query}" if query else ""),
            referrer=referrer,
            title=f"Demo — {page}",
        )

    def _browser(
        self, visitor: Visitor, at_ms: int, session_id: str, **event: object
    ) -> dict[str, object]:
        event.setdefault("type", "event")
        event.update(
            origin="browser",
            event_id=uuid.UUID(int=self.random.getrandbits(128)).hex,
            visitor_id=visitor.visitor_id,
            session_id=session_id,
            timestamp=at_ms,
            context={"ip": visitor.ip, "user_agent": visitor.user_agent, "screen": "1440x900"},
        )
        if visitor.user_id:
            event["user_id"] = visitor.user_id
        return event

    def _server(self, visitor: Visitor, at_ms: int, **event: object) -> dict[str, object]:
        event.update(
            type="event",
            event_id=uuid.UUID(int=self.random.getrandbits(128)).hex,
            visitor_id=visitor.visitor_id,
            user_id=visitor.user_id,
            timestamp=at_ms,
        )
        return event

    def _visit(
        self, visitor: Visitor, start_ms: int, arrival: Acquisition
    ) -> Iterator[dict[str, object]]:
        """One visit, which came the way `arrival` says."""
        rnd = self.random
        session = self._session()
        at_ms = start_ms
        path = rnd.choice(("/", "/", "/", "/features", "/blog/launch", "/docs", "/pricing"))
        pages = [path]
        for _ in range(int(rnd.expovariate(1 / 2.2))):
            pages.append(rnd.choice(PAGES))
        # A customer does not buy again (`plan` is kept until the world ends).
        wants_to_buy = visitor.plan is None and rnd.random() < (
            0.16 if "/pricing" in pages else 0.05
        )
        if wants_to_buy and "/pricing" not in pages:
            pages.append("/pricing")
        for index, page in enumerate(pages):
            if index == 0:
                landing = self._landing(visitor, at_ms, session, arrival, page)
                url = str(landing["url"])
                yield landing
            else:
                url = f"https://{self.domain}{page}"
                yield self._browser(
                    visitor,
                    at_ms,
                    session,
                    type="pageview",
                    url=url,
                    referrer=None,
                    title=f"Demo — {page}",
                )
            yield from self._vitals(visitor, at_ms, session, url, slow=page == "/checkout")
            if page == "/pricing" and rnd.random() < 0.04:
                yield self._browser(
                    visitor,
                    at_ms + 9000,
                    session,
                    name="rage_click",
                    url=url,
                    props={"selector": "button#annual-toggle", "clicks": 4},
                )
            if page.startswith("/docs") and rnd.random() < 0.08:
                yield self._browser(
                    visitor,
                    at_ms + 15000,
                    session,
                    name="file_download",
                    url=url,
                    props={"url": f"https://{self.domain}/files/clycyo-guide.pdf"},
                )
            if page == "/blog/launch" and rnd.random() < 0.1:
                yield self._browser(
                    visitor,
                    at_ms + 20000,
                    session,
                    name="outbound_click",
                    url=url,
                    props={"url": "https://github.com/clycyo/clycyo"},
                )
            dwell_ms = int(rnd.expovariate(1 / 45_000)) + 3000
            yield self._browser(
                visitor,
                at_ms + dwell_ms,
                session,
                name="engagement",
                url=url,
                props={
                    "scroll_depth": rnd.choice((25, 50, 75, 100)),
                    "engaged_ms": int(dwell_ms * 0.7),
                },
            )
            at_ms += dwell_ms + 2000
        if wants_to_buy:
            yield from self._checkout(visitor, at_ms, session)

    def _vitals(
        self,
        visitor: Visitor,
        at_ms: int,
        session: str,
        url: str,
        *,
        slow: bool,
        reported: float = 0.6,
    ) -> Iterator[dict[str, object]]:
        """The page's web vitals, `reported` of the time (a page left before they are sent)."""
        rnd = self.random
        if rnd.random() > reported:
            return
        lcp = rnd.lognormvariate(7.4 if not slow else 8.1, 0.45)
        # A sluggish checkout answers taps in ~0.6 s: most of its INP values are poor (> 500 ms).
        inp = rnd.lognormvariate(4.6 if not slow else 6.4, 0.6)
        supported = VITALS_BY_ENGINE[visitor.engine]
        for metric, value, good, poor in (
            ("LCP", lcp, 2500, 4000),
            ("INP", inp, 200, 500),
            ("CLS", rnd.expovariate(1 / 0.05), 0.1, 0.25),
            ("TTFB", rnd.lognormvariate(6.0, 0.5), 800, 1800),
        ):
            if metric not in supported:
                continue
            rating = "good" if value <= good else ("poor" if value > poor else "needs-improvement")
            yield self._browser(
                visitor,
                at_ms + 4000,
                session,
                name="web_vital",
                url=url,
                props={"metric": metric, "value": round(value, 3), "rating": rating},
            )

    def _checkout(self, visitor: Visitor, at_ms: int, session: str) -> Iterator[dict[str, object]]:
        rnd = self.random
        url = f"https://{self.domain}/checkout"
        yield self._browser(
            visitor, at_ms, session, type="pageview", url=url, title="Demo — Checkout"
        )
        broken = rnd.random() < 0.18
        slow = rnd.random() < 0.25
        # Paying means tapping: the checkout's INP is reported whenever the browser measures it.
        yield from self._vitals(visitor, at_ms, session, url, slow=slow, reported=0.9)
        if broken:
            message, source, line = rnd.choice(JS_ERRORS)
            yield self._browser(
                visitor,
                at_ms + 3000,
                session,
                name="js_error",
                url=url,
                props={
                    "message": message,
                    "source": source,
                    "line": line,
                    "column": 17,
                    "stack": f"{message}\n    at pay ({source}:{line}:17)",
                },
            )
        if broken and rnd.random() < 0.5:
            yield self._browser(
                visitor,
                at_ms + 6000,
                session,
                name="rage_click",
                url=url,
                props={"selector": "button#pay.primary", "clicks": 5},
            )
        pay_chance = 0.7 - (0.5 if broken else 0) - (0.2 if slow else 0)
        if rnd.random() > pay_chance:
            return
        yield from self._signup(visitor, at_ms + 30_000, session)

    def _signup(self, visitor: Visitor, at_ms: int, session: str) -> Iterator[dict[str, object]]:
        """The browser identifies the new customer; the server reports the signup and payments."""
        rnd = self.random
        self.users += 1
        visitor.user_id = visitor.user_id or f"user_{self.users}"
        visitor.plan = rnd.choice(PLANS)
        yield self._browser(
            visitor,
            at_ms,
            session,
            type="identify",
            user_id=visitor.user_id,
            traits={"plan": visitor.plan[0]},
        )
        yield self._server(visitor, at_ms + 1000, name="signup", props={"plan": visitor.plan[0]})
        paid_ms = at_ms + 10_000
        month = 0
        while paid_ms < self.end_ms:
            order_id = f"in_{visitor.user_id}_{month}"
            yield self._server(
                visitor,
                paid_ms,
                name="payment",
                order_id=order_id,
                revenue={"amount": visitor.plan[1], "currency": "USD"},
                props={"plan": visitor.plan[0], "stripe_invoice": order_id},
            )
            if rnd.random() < REFUND_RATE:
                refund = f"{int(float(visitor.plan[1]) * (0.5 if rnd.random() < 0.5 else 1)):.2f}"
                yield self._server(
                    visitor,
                    paid_ms + 2 * DAY_MS,
                    name="refund",
                    order_id=f"re_{order_id}",
                    revenue={"amount": f"-{refund}", "currency": "USD"},
                )
            if rnd.random() < CHURN_PER_RENEWAL:
                break
            paid_ms += MONTH_MS
            month += 1
