"""How the dashboard's browser tests drive Chromium: launch, log in, screenshot, and watch for
anything that should never happen on a dashboard page (a script error, a payload that ran)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page with its console errors, uncaught exceptions and dialogs recorded."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"exception: {exc}"))
        self.page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}") if msg.type == "error" else None
            ),
        )
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: object) -> None:
        self.problems.append("dialog opened")
        dialog.dismiss()  # type: ignore[attr-defined]

    def login(self, base_url: str, email: str, password: str) -> None:
        self.page.goto(f"{base_url}/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(lambda url: "/login" not in url)

    def wait_for_panels(self) -> None:
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('[data-panel-src]')]"
            ".every(p => p.dataset.loaded || p.querySelector('.empty'))",
            timeout=20_000,
        )

    def assert_clean(self) -> None:
        """Nothing ran that should not have, and the page raised nothing."""
        pwned = self.page.evaluate("() => window.__pwned || null")
        assert pwned is None, f"an injected payload ran: {pwned}"
        assert self.problems == [], self.problems

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path
