"""Imported events into a running instance: the intake log, as the collect API's events go.

`clycyo import` hands over a file's rows a part at a time, checked and made events by
`import_rows.py`, from the running server's admin endpoint or from the command itself on a folder
no server holds. Each part is appended to the intake log and synced before the call returns, as
collected events are before their `200`: the writer then loads them like any others, with the
exact event-id dedupe, the order rules, visits and identities. The pipeline is not run: the
events were enriched and minimized when first collected.

Before a part is appended, the store is asked which of its event ids it holds (once what was
acknowledged before is loaded, earlier parts of the same file included): those are counted as
already present and not appended, so importing a file again appends nothing. The writer's dedupe
stays the authority all the same (for events collected meanwhile, say).

The count of events already present is exact only once the writer has loaded what came before:
it is waited for as long as the writer makes headway (a backlog of collected events is loaded
before the part). A writer that has loaded nothing for `CATCH_UP_S` (a long job holds it, or it
fails) stops the import with `IntakeUnavailable`, nothing of the part appended, rather than
count events as new that the store already holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clycyo import order_copies
from clycyo.model import Event
from clycyo.store.columns import fingerprints
from clycyo.store.intake import IntakeUnavailable

if TYPE_CHECKING:
    from clycyo.runtime import Runtime

CATCH_UP_S = 60.0


@dataclass
class Imported:
    imported: int = 0  # appended to the intake log, new to the site
    present: int = 0  # the site held them already (or the part did, earlier)


async def append_events(
    runtime: Runtime, site_id: int, events: list[Event], *, catch_up_s: float = CATCH_UP_S
) -> Imported:
    """Append the events the site does not hold to the intake log, durably; raises
    `IntakeUnavailable` (nothing appended) when the log cannot take them now, or when the
    writer has loaded nothing of what came before for `catch_up_s`."""
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    candidates = list(unique.values())
    if not candidates:
        return Imported(0, len(events))
    await _caught_up(runtime, catch_up_s)
    keys = [
        (site_id, event.time_us, fp)
        for event, fp in zip(candidates, fingerprints(candidates), strict=True)
    ]
    store = runtime.store
    # On the writer thread, between loads: a store is read there as the writer's dedupe reads it.
    held = await asyncio.wrap_future(runtime.writer.submit(lambda: store.ids_of(keys)))
    new = [event for event in candidates if (site_id, event.event_id) not in held]
    if new:
        await runtime.intake.append(new, [])
        _remember_orders(runtime, new)
    return Imported(len(new), len(events) - len(new))


async def _caught_up(runtime: Runtime, round_s: float) -> None:
    """Wait until the writer has loaded everything acknowledged before, for as long as each
    round of `round_s` sees it load something."""
    writer = runtime.writer
    while True:
        loaded, behind = writer.loaded_seq, writer.lag_records
        if await asyncio.to_thread(writer.catch_up, round_s):
            return
        if writer.loaded_seq == loaded and writer.lag_records >= behind:
            raise IntakeUnavailable(
                f"the store writer has loaded nothing for {round_s:g} s (a long job such as a"
                " backup may hold it): this part was not imported; run the import again later,"
                " nothing is stored twice",
                retry_after_s=max(1, round(round_s)),
            )


def _remember_orders(runtime: Runtime, events: list[Event]) -> None:
    """The pipeline's memory of orders learns the imported copies, as it learns the stored ones
    when a server starts: a copy collected later is judged against them at once."""
    orders = runtime.ctx.orders
    for event in events:
        if event.order_id is None:
            continue
        rank = order_copies.rank_of(event)
        known = orders.rank(event.site_id, event.name, event.order_id)
        if known is None or rank > known:
            orders.remember(event.site_id, event.name, event.order_id, rank)
