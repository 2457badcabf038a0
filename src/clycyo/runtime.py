"""One running Clycyo: the stores, the intake log, the writer and the pipeline, wired together.

`Runtime.open` builds everything for a data folder and sets the writer loading what the intake log
holds that the store does not, and what collector processes' logs hold (`serve --workers`, this
run's or an earlier one's); `close` stops taking events, waits for the last group commit, loads
everything into the store and closes it. The HTTP layer (`app.py`) and the tools (demo, tests) use
a runtime; nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clycyo.collect.ingest import Ingest
from clycyo.collect.ratelimit import RateLimiter
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import ConfigStore
from clycyo.identity.compaction import CompactionSchedule
from clycyo.identity.deriver import IdentityDeriver, open_deriver
from clycyo.integrations.stripe_links import StripeLinks
from clycyo.pipeline.context import Context
from clycyo.pipeline.salts import SaltRing
from clycyo.settings import Settings, config_path
from clycyo.store import retention
from clycyo.store.base import EventStore
from clycyo.store.columns import keep_pandas_out
from clycyo.store.intake import IntakeLog
from clycyo.store.intake_reader import IntakeReader, collector_log, collector_logs
from clycyo.store.open import open_store
from clycyo.store.quarantine import Quarantine
from clycyo.store.writer import Writer
from clycyo.workers import forgotten_orders

__all__ = ["Runtime", "Settings", "config_path"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    config: ConfigStore
    directory: SiteDirectory
    store: EventStore
    intake: IntakeLog
    quarantine: Quarantine
    writer: Writer
    ctx: Context
    ingest: Ingest
    stripe_links: StripeLinks
    limiter: RateLimiter = field(default_factory=RateLimiter)
    retention_schedule: retention.RetentionSchedule = field(
        default_factory=retention.RetentionSchedule
    )
    deriver: IdentityDeriver | None = None  # visits and identity links, kept by the writer
    compaction_schedule: CompactionSchedule = field(default_factory=CompactionSchedule)
    started_at: float = field(default_factory=time.time)
    accepting: bool = True
    admin_token: str | None = None  # tools on this machine present it (see local_server.py)
    collectors: int = 0  # collector processes beside this one (`serve --workers`)
    before_close: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, *, collectors: int = 0) -> Runtime:
        """Everything for `settings.data_dir`; `collectors` is how many collector processes
        (`serve --workers`) will write logs of their own beside it."""
        keep_pandas_out()
        data = settings.data_dir
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = ConfigStore(config_path(data))
        store = open_store(settings.storage_url, data, memory_limit=settings.memory_limit)
        intake = IntakeLog(data / "intake", max_backlog_bytes=settings.max_backlog_bytes)
        quarantine = Quarantine(data / "quarantine.sqlite")
        deriver = open_deriver(store)
        writer = Writer(store, intake, quarantine, deriver=deriver)
        # Every collector log is loaded: this run's collectors', and those earlier runs left,
        # whatever this run's number of workers (what they hold was acknowledged).
        running = [collector_log(data, index) for index in range(collectors)]
        for folder in sorted({*running, *collector_logs(data)}):
            if folder.is_dir():
                IntakeLog(folder).close()  # no collector runs yet: cut a torn tail, as it would
            writer.add_reader(IntakeReader(folder, folder.name), running=folder in running)
        salts = SaltRing(config.salts(), on_new=config.save_salt)
        city_reader = None
        if settings.geoip_path is not None:
            from clycyo.pipeline.geo import open_city_reader

            city_reader = open_city_reader(settings.geoip_path)
        directory = SiteDirectory(config)
        ctx = Context(
            salts=salts,
            city_reader=city_reader,
            retention_days=directory.retention_days,
            shields=directory.shields,
        )
        for site_id, name, order_id, rank in store.all_orders():
            ctx.orders.remember(site_id, name, order_id, rank)
        ingest = Ingest(ctx, intake)
        return cls(
            settings=settings,
            config=config,
            directory=directory,
            store=store,
            intake=intake,
            quarantine=quarantine,
            writer=writer,
            ctx=ctx,
            ingest=ingest,
            stripe_links=StripeLinks.in_folder(data),
            limiter=RateLimiter(settings.rate_limit_source_per_s, settings.rate_limit_key_per_s),
            deriver=deriver,
            collectors=collectors,
        )

    async def maintain(self, interval_s: float = 1.0) -> None:
        """Background upkeep while serving: config changes, salt rotation, fault recovery."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.tick()
            except Exception:
                log.exception("maintenance step failed")

    def tick(self) -> None:
        self.directory.refresh()
        # Adopt salts another process made, then make sure today's exists (rotation).
        self.ctx.salts.replace(self.config.salts() or {})
        self.ctx.salts.for_time(time.time_ns() // 1000)
        self.intake.clear_fault()
        self.quarantine.finish_purge()
        self.writer.ensure_running()
        self.retention_schedule.maybe_start(self.writer.submit, self.apply_retention)
        if self.deriver is not None:
            self.compaction_schedule.maybe_start(self.writer.submit, self.store)

    def apply_retention(self) -> retention.RetentionReport:
        """Delete what is older than each site's retention (run it on the writer thread)."""
        try:
            self.writer.flush_collector_logs()
        except TimeoutError as exc:
            # The rest is applied; that log's old segment goes when its collector next rotates.
            log.warning("retention: %s", exc)
        gone: list[tuple[int, str, str]] = []
        report = retention.apply(
            self.store,
            self.intake,
            self.quarantine,
            self.config.sites(),
            forget_order=lambda site_id, name, order_id: gone.append((site_id, name, order_id)),
        )
        self.forget_orders(gone)
        return report

    def forget_orders(self, keys: list[tuple[int, str, str]]) -> None:
        """Have every pipeline, this process's and each collector's, forget the orders
        (site_id, name, order_id) an erasure or retention left with no stored copy."""
        for site_id, name, order_id in keys:
            self.ctx.orders.forget(site_id, name, order_id)
        data = self.settings.data_dir
        folders = [collector_log(data, index) for index in range(self.collectors)]
        forgotten_orders.tell(folders, keys)

    def health(self) -> dict[str, object]:
        """`/healthz`'s report; `accepting` decides its HTTP status (`200` or `503`). A store that
        fails its loads is reported (`status` `store_failing`, `writer_error`) but answered `200`
        while the intake log keeps acknowledging events durably: a load balancer that took every
        instance out for a store they share would lose events instead of delaying them. Once
        the log holds as much unloaded as it may, events are refused and this is `503` too."""
        writer = self.writer
        intake = self.intake
        writer_error = writer.stats.last_error
        if not self.accepting or intake.fault is not None:
            status = "unavailable"
        elif intake.full:
            status = "store_behind"
        elif writer_error is not None:
            status = "store_failing"
        else:
            status = "ok"
        accepting = status in ("ok", "store_failing")
        return {
            "status": status,
            "accepting": accepting,
            "intake_fault": intake.fault,
            "writer_lag_records": writer.lag_records,
            "writer_lag_bytes": writer.lag_bytes,
            "collectors": self.collectors,
            "writer_error": writer_error,
            "stored_events": writer.stats.stored,
            "storage": self.store.dialect,
        }

    def close(self) -> None:
        for action in self.before_close:
            action()
        self.accepting = False
        self.intake.close()
        self.writer.stop()
        with contextlib.suppress(Exception):
            self.store.close()
