"""Remake the dashboard's images in docs/images/ (`make screenshots`).

Starts `clycyo serve --demo` on a new data folder and a free port on 127.0.0.1, waits until the
demo's history is stored, logs in with the demo login it prints, and takes each image that
docs/dashboard.md shows with Playwright on Debian's Chromium, at the sizes the docs use. Then it
stops the server (SIGTERM, its graceful shutdown) and removes the folder.

The demo world is seeded (the same seed, days and visitors make the same world, ending when it is
sent), so images made on different days differ only in their dates and the live visitors. Each
image is checked before it is written: no login page, every panel loaded, no script error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import FloatRect, Page, ViewportSize, sync_playwright

REPOSITORY = Path(__file__).resolve().parents[1]
IMAGES = REPOSITORY / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
FILTERED: ViewportSize = {"width": 1280, "height": 700}
PHONE: ViewportSize = {"width": 390, "height": 844}
SITE = "demo.clycyo.test"
# Live visits a minute: enough for the Realtime page to have visitors and a conversion within
# a few minutes of the start (the default, 0.5, takes half an hour to look like a running site).
LIVE_RATE = "4"
HISTORY_TIMEOUT_S = 600.0
REALTIME_TIMEOUT_S = 300.0
# Settings shown filled in, entered through the page's own forms.
PAGE_GOALS = ("/docs/**", "/checkout")
SHIELDS = (("ip", "203.0.113.0/24"), ("page", "/admin/**"))
WEEKLY_RECIPIENT = "team@demo.clycyo.test"


class Failed(Exception):
    """An image that would show something wrong (or the server that did not start)."""


@dataclass
class Demo:
    url: str
    email: str
    password: str
    secret_key: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clycyo() -> list[str]:
    return [sys.executable, "-m", "clycyo"]


def _wait_for(check: Callable[[], str | None], timeout_s: float, what: str) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.5)
    raise Failed(f"gave up waiting for {what} after {timeout_s:.0f} s")


@contextmanager
def demo_server(data: Path) -> Iterator[Demo]:
    """`clycyo serve --demo` on `data`, once its history is stored; stopped with SIGTERM."""
    port = free_port()
    log_path = data.parent / "server.log"
    env = {
        **os.environ,
        # A mail server that is never reached (no report falls due while this runs), so the
        # Settings page shows its email section as a server with mail set up shows it.
        "CLYCYO_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
        "CLYCYO_SMTP_SECURITY": "none",
        "CLYCYO_MAIL_FROM": f"Clycyo <stats@{SITE}>",
        "CLYCYO_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [*_clycyo(), "serve", "--demo", "--demo-live", LIVE_RATE, "--data", str(data)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    print(f"server    pid {proc.pid} on 127.0.0.1:{port}, sending the demo's history …", flush=True)

    def printed() -> str | None:
        if proc.poll() is not None:
            raise Failed(f"the server exited:\n{log_path.read_text()[-3000:]}")
        text = log_path.read_text()
        return text if "Secret key" in text else None

    try:
        started = time.monotonic()
        text = _wait_for(printed, HISTORY_TIMEOUT_S, "the demo's history to be sent")
        login = re.search(r"login (\S+)\s+password (\S+)", text)
        secret = re.search(r"Secret key\s+(\S+)", text)
        if login is None or secret is None:
            raise Failed(f"no demo login in the server's output:\n{text[-3000:]}")
        demo = Demo(f"http://127.0.0.1:{port}", login[1], login[2], secret[1])
        # The events API answers once every acknowledged event is in the store.
        request = urllib.request.Request(
            f"{demo.url}/api/v1/events?site={SITE}&limit=1",
            headers={"Authorization": f"Bearer {demo.secret_key}"},
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            json.load(answer)
        events = re.search(r"\((\d+) events", text)
        print(
            f"history   {events[1] if events else '?'} events stored"
            f" in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        yield demo
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        # The server ends its graceful shutdown by dying of the signal it was sent.
        clean = proc.returncode in (0, -signal.SIGTERM) and "Traceback" not in log_path.read_text()
        print(
            f"server    stopped{'' if clean else f' (exit status {proc.returncode})'}", flush=True
        )
        if not clean:
            print(log_path.read_text()[-3000:], file=sys.stderr)


class Camera:
    """One browser page, logged in, that writes checked screenshots into docs/images/."""

    def __init__(self, page: Page, demo: Demo, images: Path) -> None:
        self.page = page
        self.demo = demo
        self.images = images
        self.site_url = f"{demo.url}/sites/{SITE}"
        self.problems: list[str] = []
        page.on("pageerror", lambda exc: self.problems.append(f"exception: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}") if msg.type == "error" else None
            ),
        )

    def login(self) -> None:
        page = self.page
        page.goto(f"{self.demo.url}/login")
        page.fill("input[name=email]", self.demo.email)
        page.fill("input[name=password]", self.demo.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)

    def open(self, path: str) -> None:
        self.page.goto(self.site_url + path)
        self.page.wait_for_load_state("networkidle")

    def wait_for_panels(self) -> None:
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('[data-panel-src]')]"
            ".every(p => p.dataset.loaded || p.querySelector('.empty'))",
            timeout=60_000,
        )
        unloaded = self.page.eval_on_selector_all(
            "[data-panel-src]", "ps => ps.filter(p => !p.dataset.loaded).map(p => p.id)"
        )
        if unloaded:
            raise Failed(f"panels not loaded on {self.page.url}: {unloaded}")
        empty = self.page.eval_on_selector_all(
            "[data-panel-src]", "ps => ps.filter(p => p.querySelector('.empty')).map(p => p.id)"
        )
        if empty:
            raise Failed(f"empty panels on {self.page.url}: {empty}")

    def _check(self) -> None:
        if "/login" in self.page.url:
            raise Failed(f"the login page instead of {self.page.url}")
        if self.problems:
            raise Failed(f"{self.page.url}: {self.problems}")
        # Fonts and the charts' canvases settle after the load.
        self.page.evaluate("() => document.fonts.ready")
        self.page.wait_for_timeout(300)

    def shoot(
        self,
        name: str,
        *,
        selector: str | None = None,
        full_page: bool = False,
        height: int | None = None,
    ) -> None:
        """Write docs/images/dashboard-NAME.png: the viewport, the element `selector`, the whole
        page, or the page's top `height` pixels."""
        self._check()
        path = self.images / f"dashboard-{name}.png"
        if selector is not None:
            self.page.locator(selector).screenshot(path=str(path))
        elif height is not None:
            width = self.page.evaluate("() => document.documentElement.clientWidth")
            clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": height}
            self.page.screenshot(path=str(path), full_page=True, clip=clip)
        else:
            self.page.screenshot(path=str(path), full_page=full_page)
        _shrink(path)
        width, tall = struct.unpack(">II", path.read_bytes()[16:24])  # the PNG's IHDR
        shown = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path
        print(f"image     {shown}  {width} x {tall}", flush=True)

    def shoot_top(self, name: str, size: ViewportSize) -> None:
        """The overview's top at `size` once its panels are in, then back to the desktop's."""
        self.page.set_viewport_size(size)
        self.wait_for_panels()
        self.page.evaluate("() => window.scrollTo(0, 0)")
        self.shoot(name)
        self.page.set_viewport_size(DESKTOP)

    def submit(self, button: str) -> None:
        """Send a form of the page; its answer must not be a refusal."""
        self.page.click(button)
        self.page.wait_for_load_state("networkidle")
        refused = self.page.locator("[role=alert]")
        if refused.count():
            raise Failed(f"{self.page.url} refused a form: {refused.first.inner_text()}")


def _shrink(path: Path) -> None:
    """Rewrite the PNG with a palette of 256 colours, no dithering: the dashboard's flat colours
    and anti-aliased text keep their look at about a third of the full-colour file."""
    with Image.open(path) as taken:
        image = taken.convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, "PNG", optimize=True)


def overview_images(camera: Camera) -> None:
    page = camera.page
    camera.open("")
    camera.wait_for_panels()
    camera.shoot("overview")
    camera.shoot("vitals", selector="#panel-vitals")
    page.click("#panel-sources a[data-filter]:has-text('Organic Search')")
    page.wait_for_url(lambda url: "Organic" in url)
    camera.shoot_top("filtered", FILTERED)


def funnel_images(camera: Camera) -> None:
    page = camera.page
    camera.open("/funnels")
    page.click("a[data-funnel]:has-text('Checkout')")
    page.wait_for_load_state("networkidle")
    camera.shoot("funnel")
    funnel_id = page.url.split("/funnels/")[1].split("?")[0]
    camera.open(f"/why?funnel={funnel_id}")
    camera.shoot("why", full_page=True)


def people_images(camera: Camera) -> None:
    page = camera.page
    camera.open("/people")
    if page.locator("tr[data-person]").count() == 0:
        raise Failed("the People list is empty")
    camera.shoot("people")
    # A customer whose timeline shows more than a checkout: the most recently seen customer
    # with more than one visit.
    camera.open("/people?customers=1")
    rows = page.locator("tr[data-person]")
    chosen = rows.first
    for index in range(rows.count()):
        visits = rows.nth(index).locator("td.num").first.inner_text()
        if visits.strip() not in ("0", "1"):
            chosen = rows.nth(index)
            break
    chosen.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    camera.shoot("person")


def account_image(camera: Camera) -> None:
    """The Account page as a login finds it before turning two-factor on: the key as a QR code
    (this run's throwaway demo login's)."""
    camera.page.goto(f"{camera.demo.url}/account")
    camera.page.wait_for_load_state("networkidle")
    if camera.page.locator("[data-two-factor=off] ~ p img.qr").count() != 1:
        raise Failed("the Account page shows no QR code to turn two-factor on")
    camera.shoot("account", full_page=True)


def settings_image(camera: Camera) -> None:
    page = camera.page
    camera.open("/settings")
    for pattern in PAGE_GOALS:
        page.fill("input[name=pattern]", pattern)
        camera.submit("button[data-add-goal]")
    for kind, value in SHIELDS:
        page.select_option("select[name=kind]", kind)
        page.fill("form[action$='/settings/shields'] input[name=value]", value)
        camera.submit("button[data-add-shield]")
    weekly = "form[action$='/settings/email/recipients']:has(input[name=list][value=weekly])"
    page.fill(f"{weekly} input[name=address]", WEEKLY_RECIPIENT)
    camera.submit("button[data-add-recipient=weekly]")
    camera.open("/settings")
    # From the top to the end of the email reports: the tracker, reporting, goals, shields
    # and email sections; the credentials below them are lists of ids.
    bottom = page.eval_on_selector(
        "#email-reports", "e => e.getBoundingClientRect().bottom + window.scrollY + 16"
    )
    camera.shoot("settings", height=int(bottom))


def phone_image(camera: Camera) -> None:
    camera.page.set_viewport_size(PHONE)  # before the load: the chart is drawn for the phone
    camera.open("?period=7d")
    camera.shoot_top("phone", PHONE)


def realtime_image(camera: Camera) -> None:
    page = camera.page
    url = f"{camera.site_url}/realtime.json"

    def busy() -> str | None:
        now = page.request.get(url).json()
        return "yes" if now["visitors"] >= 2 and now["goals"] else None

    print("realtime  waiting for live visitors and a conversion …", flush=True)
    try:
        _wait_for(busy, REALTIME_TIMEOUT_S, "live visitors and a conversion")
    except Failed as missing:
        print(f"realtime  {missing}: taking the page as it is", flush=True)
    camera.open("/realtime")
    camera.shoot("realtime")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="where to write the images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="clycyo-screenshots-") as folder,
            demo_server(Path(folder) / "data") as demo,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
                camera = Camera(context.new_page(), demo, args.out)
                camera.login()
                overview_images(camera)
                funnel_images(camera)
                people_images(camera)
                settings_image(camera)
                account_image(camera)
                phone_image(camera)
                realtime_image(camera)
            finally:
                browser.close()
    except Failed as failure:
        print(f"screenshots: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
