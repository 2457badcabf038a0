"""Stripe subscription events as plan changes and churn: `subscription.created|updated|canceled`.

Every subscription event carries the current plan: `plan` (the price's nickname, else its lookup
key, else its id), `price`, `amount` (per billing interval, all items and quantities), `currency`,
`interval` and `mrr` (the amount per month, for comparing plans billed yearly and monthly).
`subscription.updated` is emitted only when something a revenue report cares about changed, as
told by Stripe's `previous_attributes`: the items or plan (`change` = `upgrade`, `downgrade` or
`plan_change`, with `old_plan`, `new_plan`, `old_amount`, `new_amount`, `old_mrr`), the status
(`change` = `status`, with `old_status`), or a cancellation scheduled for the period's end or
withdrawn (`change` = `cancel_scheduled` or `cancel_withdrawn`). Stripe also sends `updated` at
every renewal; those change none of this and are ignored. Money is counted by `invoice.paid`,
never here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from clycyo.integrations.stripe_emit import (
    SUBSCRIPTION_CANCELED,
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_UPDATED,
    person_from,
    server_event,
)
from clycyo.integrations.stripe_links import Person
from clycyo.integrations.stripe_money import amount_text, monthly_minor_units
from clycyo.integrations.stripe_objects import (
    ItemList,
    Plan,
    StripeEvent,
    Subscription,
    SubscriptionItem,
    ref,
)

PersonFor = Callable[[Person, list[str | None]], Person]
Props = dict[str, str | int | bool | None]


@dataclass(frozen=True)
class PlanSummary:
    plan: str | None
    price: str | None
    amount_minor: int
    monthly_minor: Decimal
    currency: str
    interval: str | None

    def props(self) -> Props:
        return {
            "plan": self.plan,
            "price": self.price,
            "amount": amount_text(self.amount_minor, self.currency),
            "currency": self.currency,
            "interval": self.interval,
            "mrr": _mrr_text(self.monthly_minor, self.currency),
        }


def _mrr_text(monthly_minor: Decimal, currency: str) -> str:
    return amount_text(int(monthly_minor.to_integral_value()), currency)


def summarize(items: list[SubscriptionItem], currency: str | None) -> PlanSummary | None:
    names: list[str] = []
    prices: list[str] = []
    amount = 0
    monthly = Decimal(0)
    interval: str | None = None
    for item in items:
        price, plan = item.price, item.plan or Plan()
        quantity = 1 if item.quantity is None else item.quantity
        unit = price.unit_amount if price and price.unit_amount is not None else plan.amount
        recurring = price.recurring if price else None
        interval = (recurring.interval if recurring else None) or plan.interval or interval
        count = recurring.interval_count if recurring else plan.interval_count
        currency = currency or (price.currency if price else None) or plan.currency
        name = (price and (price.nickname or price.lookup_key or price.id)) or plan.nickname
        names.append(name or plan.id or "")
        prices.append((price.id if price else None) or plan.id or "")
        amount += (unit or 0) * quantity
        monthly += monthly_minor_units((unit or 0) * quantity, interval, count)
    if not names:
        return None
    code = (currency or "usd").upper()
    return PlanSummary(
        plan="+".join(names) or None,
        price="+".join(prices) or None,
        amount_minor=amount,
        monthly_minor=monthly,
        currency=code,
        interval=interval,
    )


def _previous_items(subscription: Subscription, previous: dict[str, Any]) -> list[SubscriptionItem]:
    if "items" in previous:
        return msgspec.convert(previous["items"], ItemList).data
    items = list(subscription.items.data[:1])
    if not items:
        return items
    price, plan, quantity = items[0].price, items[0].plan, items[0].quantity
    if "plan" in previous:
        # Only the legacy plan is known from before: the current price would be the new one.
        price, plan = None, msgspec.convert(previous["plan"], Plan | None)
    if "quantity" in previous:
        quantity = msgspec.convert(previous["quantity"], int | None)
    return [SubscriptionItem(price, plan, quantity)]


def _change(
    subscription: Subscription, previous: dict[str, Any], current: PlanSummary | None
) -> Props | None:
    if {"items", "plan", "quantity"} & previous.keys():
        old = summarize(_previous_items(subscription, previous), subscription.currency)
        if old is not None and current is not None:
            if current.monthly_minor != old.monthly_minor:
                change = "upgrade" if current.monthly_minor > old.monthly_minor else "downgrade"
            else:
                change = "plan_change"
            return {
                "change": change,
                "old_plan": old.plan,
                "new_plan": current.plan,
                "old_amount": amount_text(old.amount_minor, old.currency),
                "new_amount": amount_text(current.amount_minor, current.currency),
                "old_mrr": _mrr_text(old.monthly_minor, old.currency),
            }
    if "status" in previous:
        return {"change": "status", "old_status": previous["status"]}
    if "cancel_at_period_end" in previous:
        scheduled = subscription.cancel_at_period_end
        return {"change": "cancel_scheduled" if scheduled else "cancel_withdrawn"}
    return None


def subscription_events(
    event: StripeEvent, person_for: PersonFor
) -> tuple[list[dict[str, Any]], str | None]:
    """The events for a `customer.subscription.*` delivery, or none and the reason why."""
    subscription = msgspec.json.decode(event.data.object, type=Subscription)
    customer = ref(subscription.customer)
    person = person_for(person_from(subscription.metadata), [customer, subscription.id])
    current = summarize(subscription.items.data, subscription.currency)
    props: Props = {"subscription": subscription.id, "status": subscription.status}
    props |= current.props() if current else {}
    if event.type == "customer.subscription.created":
        return [server_event(event, SUBSCRIPTION_CREATED, person, props)], None
    if event.type == "customer.subscription.deleted":
        details = subscription.cancellation_details
        if details is not None:
            props |= {"cancellation_reason": details.reason, "feedback": details.feedback}
        return [server_event(event, SUBSCRIPTION_CANCELED, person, props)], None
    change = _change(subscription, event.data.previous_attributes or {}, current)
    if change is None:
        return [], "no change of plan, status or cancellation"
    return [server_event(event, SUBSCRIPTION_UPDATED, person, props | change)], None
