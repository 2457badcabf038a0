"""`clycyo serve --demo`: a demo site, a demo login, two months of data, and where to find them.

The first start creates the site and the login and, once the server accepts requests, sends the
demo world through the collect API; the keys and the password are kept in `demo.json` in the data
folder (readable by its owner only) so later starts print them again instead of making new data.
Every start makes sure the site has the checkout funnel (pricing, checkout, payment) that the
dashboard's funnel and "why" views explain.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from clycyo.config.funnels import FunnelStore, check_step
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigStore
from clycyo.demo.send import send_world
from clycyo.demo.world import DEFAULT_DAYS
from clycyo.settings import config_path

DEMO_DOMAIN = "demo.clycyo.test"
DEMO_EMAIL = "demo@clycyo.test"
CHECKOUT_FUNNEL = "Checkout"
# (kind, match): the demo world's way to money; the step before the payment is the attempt.
CHECKOUT_STEPS = (("pageview", "/pricing"), ("pageview", "/checkout"), ("event", "payment"))


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


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def prepare_demo(data_dir: Path, host: str, port: int) -> Callable[[], None]:
    """Create what is missing now; return what to do once the server is up."""
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
    ensure_checkout_funnel(config, DEMO_DOMAIN)
    url = f"http://{host}:{port}"

    def after_start() -> None:
        if not state.get("filled"):
            accepted, _ = send_world(url, DEMO_DOMAIN, str(state["secret_key"]))
            state["filled"] = True
            state["events"] = accepted
            state["days"] = DEFAULT_DAYS
            _write_private(state_path, json.dumps(state))
        print(
            f"""
  Clycyo is running at {url}

  Dashboard   {url}/   login {state["email"]}  password {state["password"]}
  Demo site   {state["site"]}  ({state.get("events", "?")} events, {state.get("days", 30)} days)
  Public key  {state["public_key"]}   (the tracker's data-key)
  Secret key  {state["secret_key"]}   (for your backend and the query API)

  Try:  curl -s {url}/api/v1/events?site={state["site"]}\\&limit=3 \\
          -H "Authorization: Bearer {state["secret_key"]}"

  Stop with Ctrl-C.
""",
            file=sys.stderr,
            flush=True,
        )

    return after_start
