"""The list of a site's persons, a page at a time: who they are, when they were last seen, where
they first came from, how many visits they made and what they paid.

A person is a user id with all its devices, or a lone visitor id (`people.py`), found by their
40-bit key (`keys.person_bits`) in the writer's derived tables, never by scanning events: live
visits (`visits.person_bits`, kept current by the writer), `actions` (server events, identify,
money; the person through the identity map, as the query layer finds it) and the identity links.
Last seen is the end of their latest visit or their latest action; visits count their live
visits; first touch is the channel of their earliest visit with one (as the person page's first
visit); net revenue sums the ledger's payments and refunds of their events in the site's
currency (`revenue/ledger.py`: each order once, as the `revenue` metric counts it).

Pages follow a cursor, the sort key of the last row shown (last seen, or net revenue then last
seen, then the person's key): the next page starts strictly after it, so pages neither repeat
nor skip a person while the data stays as it is. The page's persons are chosen by one statement
over numbers (by last seen, first among the latest rows only); their ids, visits, first channels
and, unless the order needed it, revenue come from statements over those persons only.
Read-only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from clycyo.identity import persons
from clycyo.query import dialect, registry
from clycyo.query.builder import superseded
from clycyo.query.conditions import Params
from clycyo.query.errors import QueryError
from clycyo.revenue.ledger import LEDGER
from clycyo.store.base import EventStore

SORTS = ("last_seen", "revenue")
WHO = ("identified", "everyone")
MAX_LIMIT = 200
MAX_PREFIX_CHARS = 200
RECENT_ROWS = 5_000  # the latest rows a page by last seen looks among first
_EPOCH = dt.datetime(1970, 1, 1)
_CURSOR_LIMIT = 1 << 62


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort key of its last row."""

    sort: str
    last_seen_us: int
    person: int
    revenue: Decimal = Decimal(0)

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.last_seen_us, self.person, str(self.revenue)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        """The cursor `text` names; a `QueryError` when it is none of this list's sort."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            name, seen, person, revenue = json.loads(raw)
            cursor = cls(str(name), int(seen), int(person), Decimal(str(revenue)))
        except (binascii.Error, ValueError, TypeError, InvalidOperation, OverflowError) as exc:
            raise QueryError("cursor", "not a cursor this list gave") from exc
        # Values no list gives (and no engine takes as its parameter types) are refused here.
        if not (
            abs(cursor.last_seen_us) < _CURSOR_LIMIT
            and 0 <= cursor.person < _CURSOR_LIMIT
            and cursor.revenue.is_finite()
            and abs(cursor.revenue) < _CURSOR_LIMIT
        ):
            raise QueryError("cursor", "not a cursor this list gave")
        if cursor.sort != sort:
            raise QueryError("cursor", f"not a cursor of the list sorted by {sort}")
        return cursor


@dataclass(frozen=True)
class Listing:
    """Which persons, in which order: `identified_only` leaves out anonymous visitors,
    `customers_only` those who never paid, `prefix` keeps those whose user id or one of whose
    visitor ids starts with it."""

    sort: str = "last_seen"
    identified_only: bool = True
    customers_only: bool = False
    prefix: str = ""
    limit: int = 50
    after: Cursor | None = None

    @property
    def by_money(self) -> bool:
        """Whether the order or a filter reads net revenue (the page's rows then carry it)."""
        return self.sort == "revenue" or self.customers_only

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueryError("sort", f"expected one of {', '.join(SORTS)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError("limit", f"expected 1 to {MAX_LIMIT}")


def from_params(params: Mapping[str, str], default_limit: int = 50) -> Listing:
    """The listing a query string asks for (the People page's and `GET /api/v1/persons`):
    `q` a prefix, `who` identified or everyone (default: identified, everyone for a search),
    `sort`, `customers` (1 or true), `limit`, `cursor`; a `QueryError` names a bad one."""
    text = params.get("q", "").strip()[:MAX_PREFIX_CHARS]
    sort = params.get("sort") or SORTS[0]
    who = params.get("who") or ("everyone" if text else "identified")
    if who not in WHO:
        raise QueryError("who", f"expected one of {', '.join(WHO)}")
    customers = params.get("customers", "").lower()
    if customers not in ("", "0", "1", "false", "true"):
        raise QueryError("customers", "expected 1 or 0")
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError:
        raise QueryError("limit", "expected an integer") from None
    cursor = params.get("cursor")
    return Listing(
        sort=sort,
        identified_only=who == "identified",
        customers_only=customers in ("1", "true"),
        prefix=text,
        limit=limit,
        after=Cursor.decode(cursor, sort) if cursor and sort in SORTS else None,
    )


@dataclass(frozen=True)
class Page:
    persons: list[dict[str, Any]]
    next_cursor: str | None  # None: this was the last page


def _iso(epoch_us: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=epoch_us)).isoformat() + "Z"


class _Sql:
    """The statement parts both statements share, in one dialect, with `site` a marker."""

    def __init__(self, store: EventStore, params: Params, site_id: int) -> None:
        self.d = dialect.of(store.dialect)
        self.name = store.dialect
        self.site = params.add(site_id)
        self.person = registry.PERSON[registry.EVENTS][store.dialect]  # an event's person
        self.join = persons.JOINS[store.dialect]["event"]
        self.identity_map = persons.IDENTITY_MAP[store.dialect].replace("{site}", self.site)

    def money(self, currency: str) -> str:
        """Per person: net revenue in `currency` (NULL: none) and the number of payments."""
        ledger = LEDGER[self.name].replace("{site}", self.site)
        return (
            f"SELECT {self.person} AS person, sum(CASE WHEN e.revenue_currency = {currency}"
            " THEN e.revenue_amount END) AS revenue,"
            " sum(CASE WHEN e.revenue_amount > 0 THEN 1 ELSE 0 END) AS payments"
            f" FROM ({ledger}) e {self.join} GROUP BY {self.person}"
        )


def _statement(
    store: EventStore, site_id: int, currency: str, listing: Listing, *, recent: int = 0
) -> tuple[str, list[Any]]:
    """The page's persons (one more than asked: whether a page follows) as numbers: key, last
    seen, whether identified, net revenue where the order or a filter needs it (else NULL), and
    with `recent` the moment of the earliest row grouped (else NULL).

    The persons the filters keep are chosen first, from small relations (links, actions,
    money), so that only their rows are grouped. With `recent` (by last seen only), only the
    latest `recent` rows are: a person with a row among them has their latest row there (or one
    of the same moment), so their last seen is right, and every person left out was seen no
    later than the earliest of them. Some persons of that very moment may be left out while
    others of it are in, so the page is right only when it is full and its last person was seen
    after that moment (`_complete`); any other must be asked again without `recent`."""
    p = Params()
    q = _Sql(store, p, site_id)
    site = q.site
    users = f"SELECT {q.d.bits('user_key')} AS person FROM identities WHERE site_id = {site}"
    ctes = [f"m AS ({q.identity_map})"]
    chosen: list[str] = []  # relations of persons, each a condition on whom to list
    if listing.identified_only:
        ctes.append(
            f"named AS ({users} UNION ALL SELECT {q.person} FROM actions e {q.join}"
            f" WHERE e.site_id = {site} AND e.user_id IS NOT NULL)"
        )
        chosen.append("named")
    if listing.by_money:
        ctes.append(f"money AS ({q.money(p.add(currency))})")
    if listing.customers_only:
        ctes.append("payers AS (SELECT person FROM money WHERE payments > 0)")
        chosen.append("payers")
    if listing.prefix:
        ctes.append(f"found AS ({_found(q, p.add(listing.prefix))})")
        chosen.append("found")
    live = persons.LIVE[store.dialect].replace("{site}", site)
    kept = " AND ".join(superseded(store.dialect, "actions", site))
    of_visit = "".join(f" AND v.person_bits IN (SELECT person FROM {c})" for c in chosen)
    of_action = "".join(f" AND {q.person} IN (SELECT person FROM {c})" for c in chosen)
    rows = (
        "SELECT v.person_bits AS person, v.ended_at AS seen, 0 AS named FROM visits v"
        f" WHERE v.site_id = {site} AND {live}{of_visit}"
        f" UNION ALL SELECT {q.person}, e.time, CASE WHEN e.user_id IS NULL THEN 0 ELSE 1 END"
        f" FROM actions e {q.join} WHERE e.site_id = {site} AND {kept}{of_action}"
    )
    earliest = "NULL"
    if recent:
        latest = f"SELECT * FROM ({rows}) ORDER BY seen DESC LIMIT {p.add(recent)}"
        rows = f"SELECT *, min(seen) OVER () AS earliest FROM ({latest})"
        earliest = q.d.epoch_us("p.earliest")
    grouped = ", min(r.earliest) AS earliest" if recent else ""
    ctes.append(
        "grouped AS (SELECT r.person AS person, max(r.seen) AS last_seen,"
        f" max(r.named) AS named{grouped} FROM ({rows}) r WHERE r.person IS NOT NULL"
        " GROUP BY r.person)"
    )
    identified = f"CASE WHEN g.named = 1 OR g.person IN ({users}) THEN 1 ELSE 0 END"
    if listing.by_money:
        ctes.append(
            f"p AS (SELECT g.*, {identified} AS identified, coalesce(money.revenue, 0) AS revenue"
            " FROM grouped g LEFT JOIN money ON money.person = g.person)"
        )
    else:
        ctes.append(f"p AS (SELECT g.*, {identified} AS identified FROM grouped g)")
    where = ["TRUE"]
    seen_us = q.d.epoch_us("p.last_seen")
    after = listing.after
    if after is not None:
        seen, key = p.add(after.last_seen_us), p.add(after.person)
        later = f"({seen_us} < {seen} OR ({seen_us} = {seen} AND p.person > {key}))"
        if listing.sort == "revenue":
            amount = p.add(after.revenue)
            later = f"(p.revenue < {amount} OR (p.revenue = {amount} AND {later}))"
        where.append(later)
    order = "p.last_seen DESC, p.person"
    if listing.sort == "revenue":
        order = f"p.revenue DESC, {order}"
    shown = "p.revenue" if listing.by_money else "NULL"
    return p.render(
        f"WITH {', '.join(ctes)} SELECT p.person, {seen_us}, p.identified, {shown}, {earliest}"
        f" FROM p WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {p.add(listing.limit + 1)}"
    )


def _found(q: _Sql, prefix: str) -> str:
    """Persons whose user id, or one of whose visitor ids, starts with `prefix` (a marker)."""
    starts = q.d.function("starts_with")
    user_bits = q.d.bits("i.user_key")
    return (
        f"SELECT v.person_bits AS person FROM visits v WHERE v.site_id = {q.site}"
        f" AND {starts}(v.visitor_id, {prefix})"
        f" UNION ALL SELECT {user_bits} FROM identities i WHERE i.site_id = {q.site}"
        f" AND ({starts}(i.user_id, {prefix}) OR {starts}(i.visitor_id, {prefix}))"
        f" UNION ALL SELECT {q.person} FROM actions e {q.join} WHERE e.site_id = {q.site}"
        f" AND ({starts}(e.user_id, {prefix}) OR {starts}(e.visitor_id, {prefix}))"
    )


def _details(
    store: EventStore, site_id: int, currency: str, shown: list[tuple[int, bool]], *, money: bool
) -> dict[int, dict[str, Any]]:
    """The user id (or lone visitor id) and first channel of the persons `shown` (each a key
    and whether it is a user's), and with `money` their net revenue."""
    p = Params()
    q = _Sql(store, p, site_id)
    site, bits = q.site, q.d.bits
    among = ", ".join(p.add(key) for key, _ in shown)
    no_text = "CAST(NULL AS Nullable(String))" if q.d.clickhouse else "CAST(NULL AS VARCHAR)"
    # A user's id from their links, or from the events that name them alone (an event naming
    # only a user is placed under that user's key, unless it joined a linked device's visit,
    # whose visitor is linked to them); a lone visitor's from their visits, or from their
    # events outside visits.
    parts = []
    users = ", ".join(p.add(key) for key, named in shown if named)
    if users:
        parts += [
            f"SELECT {bits('i.user_key')} AS person, i.user_id AS user_id,"
            f" {no_text} AS visitor_id FROM identities i"
            f" WHERE i.site_id = {site} AND {bits('i.user_key')} IN ({users})",
            f"SELECT {bits('e.visit_id')} AS person, e.user_id AS user_id,"
            f" {no_text} AS visitor_id FROM actions e"
            f" WHERE e.site_id = {site} AND e.visitor_id IS NULL"
            f" AND {bits('e.visit_id')} IN ({users})",
        ]
    lone = ", ".join(p.add(key) for key, named in shown if not named)
    if lone:
        parts += [
            f"SELECT v.person_bits AS person, {no_text} AS user_id,"
            " v.visitor_id AS visitor_id FROM visits v"
            f" WHERE v.site_id = {site} AND v.person_bits IN ({lone})",
            f"SELECT {bits('e.visit_id')} AS person, {no_text} AS user_id,"
            " e.visitor_id AS visitor_id FROM actions e"
            f" WHERE e.site_id = {site} AND e.visitor_id IS NOT NULL"
            f" AND {bits('e.visit_id')} IN ({lone})",
        ]
    text, values = p.render(
        f"SELECT person, min(user_id), min(visitor_id) FROM ({' UNION ALL '.join(parts)})"
        " GROUP BY person"
    )
    found: dict[int, dict[str, Any]] = {
        int(key): {"user_id": user, "visitor_id": visitor}
        for key, user, visitor in store.execute(text, values)
    }
    # Their live visits, and the first with a channel, as the person page's first touch. A
    # cancelled state carries its visit's person: the persons' own cancellations are all that
    # can hide one of their visits.
    live = (
        f"v.sign = 1 AND (v.visit_id, v.state) NOT IN (SELECT c.visit_id, c.state FROM visits c"
        f" WHERE c.site_id = {site} AND c.sign = -1 AND c.person_bits IN ({among}))"
    )
    if not q.d.clickhouse:
        live = live.replace("SELECT c.visit_id, c.state", "SELECT (c.visit_id, c.state)")
    text, values = p.render(
        "SELECT person, visits, channel FROM (SELECT v.person_bits AS person,"
        " v.channel AS channel, count(*) OVER (PARTITION BY v.person_bits) AS visits,"
        " row_number() OVER (PARTITION BY v.person_bits ORDER BY"
        " CASE WHEN v.channel IS NULL THEN 1 ELSE 0 END, v.started_at, v.visit_id) AS nth"
        f" FROM visits v WHERE v.site_id = {site} AND v.person_bits IN ({among}) AND {live})"
        " WHERE nth = 1"
    )
    for key, visits, channel in store.execute(text, values):
        about = found.setdefault(int(key), {})
        about["visits"], about["first_touch_channel"] = int(visits), channel
    if not money:
        return found
    text, values = p.render(
        f"WITH m AS ({q.identity_map}) SELECT person, revenue FROM ({q.money(p.add(currency))})"
        f" WHERE person IN ({among})"
    )
    for key, revenue in store.execute(text, values):
        found.setdefault(int(key), {})["revenue"] = revenue
    return found


def _complete(rows: list[tuple[Any, ...]], limit: int) -> bool:
    """Whether a page found among the latest rows (`_statement` with `recent`) is right: it is
    full, and its last person was seen after the earliest of those rows, so that nobody seen at
    that moment and left out of them belongs on it."""
    if len(rows) <= limit:
        return False
    last_seen_us, earliest_us = rows[limit - 1][1], rows[limit - 1][4]
    return earliest_us is None or int(last_seen_us) > int(earliest_us)


def list_persons(store: EventStore, site_id: int, currency: str, listing: Listing) -> Page:
    """One page of the site's persons as `listing` asks, net revenue in `currency`."""
    rows: list[tuple[Any, ...]] = []
    if listing.sort == "last_seen":
        # Most pages need only the latest rows; a page that comes out short (the last one, or
        # one deep down the list) is asked again over every row.
        text, values = _statement(store, site_id, currency, listing, recent=RECENT_ROWS)
        rows = store.execute(text, values)
    if not _complete(rows, listing.limit):
        text, values = _statement(store, site_id, currency, listing)
        rows = store.execute(text, values)
    shown = rows[: listing.limit]
    keys = [(int(row[0]), bool(row[2])) for row in shown]
    details = _details(store, site_id, currency, keys, money=not listing.by_money) if keys else {}
    found = []
    for key, seen_us, identified, revenue, _ in shown:
        about = details.get(int(key), {})
        if listing.by_money:
            about["revenue"] = revenue
        user = about.get("user_id") if identified else None
        found.append(
            {
                "id": user or about.get("visitor_id"),
                "user_id": user,
                "identified": bool(identified),
                "last_seen": _iso(int(seen_us)),
                "first_touch_channel": about.get("first_touch_channel"),
                "visits": about.get("visits", 0),
                "revenue": Decimal(str(about.get("revenue") or 0)),
                "currency": currency,
            }
        )
    more = None
    if len(rows) > listing.limit:
        key, seen_us, _, revenue, _ = rows[listing.limit - 1]
        amount = Decimal(str(revenue or 0))
        more = Cursor(listing.sort, int(seen_us), int(key), amount).encode()
    return Page(found, more)
