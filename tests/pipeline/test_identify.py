from __future__ import annotations

from clycyo.model import Hit
from clycyo.pipeline.context import Context
from clycyo.pipeline.identify import identify
from clycyo.pipeline.salts import US_PER_DAY, SaltRing
from tests.pipeline.factories import NOW_US, make_context, make_hit


def identified(hit: Hit, ctx: Context) -> Hit:
    result = identify(hit, ctx)
    assert isinstance(result, Hit)
    return result


def test_a_sent_visitor_id_is_kept() -> None:
    hit = identified(make_hit(visitor_id="v1"), make_context())
    assert (hit.visitor_id, hit.visitor_kind) == ("v1", "cookie")


def test_cookieless_hash_is_stable_within_a_day_and_differs_by_site() -> None:
    ctx = make_context()
    first = identified(make_hit(), ctx).visitor_id
    again = identified(make_hit(received_us=NOW_US + 1000), ctx).visitor_id
    other_site = identified(make_hit(site_id=2), ctx).visitor_id
    other_device = identified(make_hit(user_agent="curl/8"), ctx).visitor_id
    assert first is not None and first.startswith("h_")
    assert first == again
    assert first not in (other_site, other_device)
    assert "8.8.8.8" not in first


def test_hash_changes_with_the_daily_salt() -> None:
    ctx = make_context()
    today = identified(make_hit(), ctx).visitor_id
    # Two days later the old salt is gone: the same person cannot be recognised.
    later = identified(make_hit(received_us=NOW_US + 2 * US_PER_DAY), ctx).visitor_id
    assert today != later
    assert len(ctx.salts.days()) <= 2


def test_an_active_visitor_keeps_yesterdays_hash_across_midnight() -> None:
    midnight = (NOW_US // US_PER_DAY + 1) * US_PER_DAY
    ctx = Context(salts=SaltRing())
    before = identified(make_hit(received_us=midnight - 60_000_000), ctx).visitor_id
    after = identified(make_hit(received_us=midnight + 60_000_000), ctx).visitor_id
    assert before == after
    # Someone first seen after midnight gets today's salt.
    newcomer = identified(make_hit(received_us=midnight + 60_000_000, ip="1.1.1.1"), ctx)
    assert (
        newcomer.visitor_id
        != identified(
            make_hit(received_us=midnight - 60_000_000, ip="1.1.1.1"), Context(salts=SaltRing())
        ).visitor_id
    )


def test_a_server_event_naming_the_user_is_not_hashed() -> None:
    hit = identified(make_hit(user_id="u1", trusted=True, origin="server"), make_context())
    assert hit.visitor_id is None


def test_salts_are_random_not_derived() -> None:
    one, two = SaltRing(), SaltRing()
    assert one.for_time(NOW_US)[0] != two.for_time(NOW_US)[0]
