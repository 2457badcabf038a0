"""`clycyo serve --demo`: a demo site, a demo login, two months of data, and where to find them.

The first start creates the site and the login and, once the server accepts requests, sends the
demo world through the collect API; the keys and the password are kept in `demo.json` in the data
folder (readable by its owner only) so later starts print them again instead of making new data.
Every start makes sure the site has the checkout funnel (pricing, checkout, payment) that the
dashboard's funnel and "why" views explain; the first also marks two moments of the history on
the chart (`DEMO_ANNOTATIONS`), as a team marks its releases. Once the history is in, live
traffic (`live.py`) keeps arriving until the server stops, unless turned off.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from pathlib import Path

from clycyo.config.annotations import AnnotationStore
from clycyo.config.funnels import FunnelStore, check_step
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigStore
from clycyo.demo.live import DEFAULT_VISITORS_PER_MINUTE, LiveTraffic, live_schedule
from clycyo.demo.send import send_world
from clycyo.demo.world import DEFAULT_DAYS, DEFAULT_VISITORS_PER_DAY
from clycyo.settings import config_path

DEMO_DOMAIN = "demo.clycyo.test"
DEMO_EMAIL = "demo@clycyo.test"
CHECKOUT_FUNNEL = "Checkout"
# (kind, match): the demo world's way to money; the step before the payment is the attempt.
CHECKOUT_STEPS = (("pageview", "/pricing"), ("pageview", "/checkout"), ("event", "payment"))
# (days before the first start, text): notes on the overview's chart, made at 10:00 UTC.
DEMO_ANNOTATIONS = ((26, "Newsletter: November issue sent"), (9, "Released v2.4: annual plans"))
DAY_S = 86_400
log = logging.getLogger(__name__)
LIVE_SEED = 7  # mixed with the start time: each start has visitors of its own


def ensure_checkout_funnel(config: ConfigStore, domain: str) -> bool:
    """Save the demo's checkout funnel for the site unless it has one; True when saved."""
    site = config.site_by_domain(domain)
    if site is None:
        return False
    funnels = FunnelStore(config)
    if any(f.name == CHECKOUT_FUNNEL for f in funnels.list(site.id)):
        return False
    steps = [check_step(kind, match, []) for kind, match in CHECKOUT_STEPS]
    funnels.add(site.id, CHECKOUT_FUNNEL, steps)
    return True


def add_demo_annotations(config: ConfigStore, domain: str, now: float) -> None:
    """Mark `DEMO_ANNOTATIONS` on the site's chart, `now` being the history's end."""
    site = config.site_by_domain(domain)
    if site is None:
        return
    annotations = AnnotationStore(config)
    today = now - now % DAY_S
    for days_ago, text in DEMO_ANNOTATIONS:
        at = today - days_ago * DAY_S + 10 * 3600
        annotations.add(site.id, text, at=at, created_by=DEMO_EMAIL)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


class Demo:
    """What `serve --demo` does once the server is up (`after_start`, on its own thread: the
    history, what to open, then the live traffic), and `stop` when the server is stopping."""

    def __init__(self, state_path: Path, state: dict[str, object], url: str, live: float):
        self.state_path = state_path
        self.state = state
        self.url = url
        self.live_per_minute = live
        self.live: LiveTraffic | None = None
        self._stopping = threading.Event()

    def after_start(self) -> None:
        state = self.state
        if not state.get("filled"):
            # `demo.json` may ask for a smaller history than the default (the tests' does).
            days = int(state.get("days", DEFAULT_DAYS))  # type: ignore[call-overload]
            per_day = int(
                state.get("visitors_per_day", DEFAULT_VISITORS_PER_DAY)  # type: ignore[call-overload]
            )
            try:
                accepted, _ = send_world(
                    self.url,
                    DEMO_DOMAIN,
                    str(state["secret_key"]),
                    days=days,
                    visitors_per_day=per_day,
                )
            except OSError:  # urllib's errors, and the connection's
                if not self._stopping.is_set():
                    raise
                log.info("stopped before the demo's history was all sent")
                return
            state["filled"] = True
            state["events"] = accepted
            state["days"] = days
            _write_private(self.state_path, json.dumps(state))
        rate = self.live_per_minute
        live = (
            f"about {rate:g} visitor{'' if rate == 1 else 's'} a minute (--demo-live off: none)"
            if rate
            else "off"
        )
        url = self.url
        print(
            f"""
  Clycyo is running at {url}

  Dashboard   {url}/   login {state["email"]}  password {state["password"]}
  Demo site   {state["site"]}  ({state.get("events", "?")} events, {state.get("days", 30)} days)
  Live        {live}
  Public key  {state["public_key"]}   (the tracker's data-key)
  Secret key  {state["secret_key"]}   (for your backend and the query API)

  Try:  curl -s {url}/api/v1/events?site={state["site"]}\\&limit=3 \\
          -H "Authorization: Bearer {state["secret_key"]}"

  Stop with Ctrl-C.
""",
            file=sys.stderr,
            flush=True,
        )
        if self.live_per_minute:
            self._start_live()

    def _start_live(self) -> None:
        self.live = LiveTraffic(
            self.url,
            str(self.state["secret_key"]),
            live_schedule(
                DEMO_DOMAIN,
                visitors_per_minute=self.live_per_minute,
                seed=LIVE_SEED,
                start_ms=int(time.time() * 1000),
            ),
        )
        # `stop` sets the flag before it looks for the traffic: one of the two sees the other.
        if not self._stopping.is_set():
            self.live.start()

    def stop(self) -> None:
        """Stop the live traffic; waits for nothing (it runs in the server's signal handler)."""
        self._stopping.set()
        if self.live is not None:
            self.live.stop()

    def join(self, timeout_s: float) -> None:
        if self.live is not None:
            self.live.join(timeout_s)


def prepare_demo(
    data_dir: Path, host: str, port: int, *, live: float = DEFAULT_VISITORS_PER_MINUTE
) -> Demo:
    """Create what is missing now; return what to do once the server is up and when it stops.
    `live`: visitors a minute of live traffic after the history (0: none)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_path = data_dir / "demo.json"
    state: dict[str, object] = {}
    config = ConfigStore(config_path(data_dir))
    if state_path.exists():
        state = json.loads(state_path.read_text())
    else:
        created = config.add_site(DEMO_DOMAIN)
        password = secrets.token_urlsafe(9)
        config.add_user(DEMO_EMAIL, hash_password(password))
        state = {
            "site": DEMO_DOMAIN,
            "public_key": created.site.public_key,
            "secret_key": created.secret_key,
            "email": DEMO_EMAIL,
            "password": password,
            "filled": False,
        }
        _write_private(state_path, json.dumps(state))
        add_demo_annotations(config, DEMO_DOMAIN, time.time())
    ensure_checkout_funnel(config, DEMO_DOMAIN)
    return Demo(state_path, state, f"http://{host}:{port}", live)
