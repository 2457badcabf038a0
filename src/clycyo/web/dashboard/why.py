"""The "why" report: what browser friction the failed checkouts met that the paid ones did not.

For a funnel whose last step is a server-verified payment, every visit that reached the step
before it is a checkout attempt; it paid if that person's payment followed. The report compares
paid and failed attempts on friction seen in the visit before the payment (JS errors, rage
clicks, poor INP and LCP), by page, and puts a price on each: the failed attempts that met it
times the average paid order (of the payments these attempts made, so under the same filters).
The counting is `query/why.py`'s; this module picks the funnel and shapes the page.
"""

from __future__ import annotations

from typing import Any

from clycyo.config.funnels import Funnel
from clycyo.query.why import FrictionCount, WhyCounts
from clycyo.web.dashboard import stats
from clycyo.web.dashboard.funnels import funnel_store
from clycyo.web.dashboard.routing import Page, ViewContext
from clycyo.web.dashboard.viewer import NotAllowed

FRICTION_LABELS = {
    "js_error": "JS error",
    "rage_click": "Rage click",
    "poor_inp": "Poor INP",
    "poor_lcp": "Poor LCP",
}
PAGES_SHOWN = 20
ERRORS_SHOWN = 10


def _payment_funnels(ctx: ViewContext) -> list[Funnel]:
    """Saved funnels that can be explained: at least two steps, the last one an event."""
    saved = funnel_store(ctx.request).list(ctx.viewer.site.id)
    return [f for f in saved if len(f.steps) >= 2 and f.steps[-1].kind == "event"]


def _percent(part: int, whole: int) -> float:
    return round(part / whole * 100, 1) if whole else 0.0


def _row(found: FrictionCount, counts: WhyCounts, average_order: float) -> dict[str, Any]:
    failed = counts.attempts - counts.paid
    hit = found.failed + found.paid
    return {
        "kind": found.kind,
        "label": FRICTION_LABELS.get(found.kind, found.kind),
        "page": found.page,
        "failed_hit": found.failed,
        "failed_share": _percent(found.failed, failed),
        "paid_hit": found.paid,
        "paid_share": _percent(found.paid, counts.paid),
        "payment_rate_with": _percent(found.paid, hit),
        "payment_rate_without": _percent(counts.paid - found.paid, counts.attempts - hit),
        "revenue_at_stake": round(found.failed * average_order, 2),
    }


def shape_report(counts: WhyCounts, average_order: float) -> dict[str, Any]:
    """Shares, payment rates and revenue at stake from the raw counts."""
    by_kind = [f for f in counts.frictions if f.page is None and f.message is None]
    by_page = [f for f in counts.frictions if f.page is not None]
    messages = [f for f in counts.frictions if f.message is not None]
    return {
        "attempts": counts.attempts,
        "paid": counts.paid,
        "failed": counts.attempts - counts.paid,
        "payment_rate": _percent(counts.paid, counts.attempts),
        "average_order": round(average_order, 2),
        "by_kind": [_row(f, counts, average_order) for f in by_kind],
        "frictions": [_row(f, counts, average_order) for f in by_page[:PAGES_SHOWN]],
        "errors": [
            {"message": f.message, "failed_hit": f.failed, "paid_hit": f.paid}
            for f in messages[:ERRORS_SHOWN]
        ],
    }


def why_view(ctx: ViewContext) -> Page:
    candidates = _payment_funnels(ctx)
    chosen: Funnel | None = None
    wanted = ctx.query.get("funnel")
    if wanted:
        chosen = next((f for f in candidates if str(f.id) == wanted), None)
        if chosen is None:
            raise NotAllowed(404, "no such funnel, or its last step is not an event")
    elif candidates:
        chosen = candidates[-1]
    report: dict[str, Any] | None = None
    if chosen is not None:
        counts = stats.why(ctx.runtime, ctx.viewer.site, chosen.steps, ctx.state)
        report = shape_report(counts, counts.average_order)
        report.update(attempt_step=chosen.steps[-2].label, payment_event=chosen.steps[-1].match)
    return Page(
        "why.html",
        {
            "site": ctx.viewer.site.domain,
            "currency": ctx.viewer.site.currency,
            "funnels": [{"id": f.id, "name": f.name} for f in candidates],
            "funnel": None
            if chosen is None
            else {"id": chosen.id, "name": chosen.name, "steps": [s.label for s in chosen.steps]},
            "report": report,
        },
    )
