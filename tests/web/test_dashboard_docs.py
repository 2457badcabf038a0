"""Every dashboard view is documented in `docs/dashboard.md` (a new view fails this test)."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from clycyo.web.dashboard.routes import dashboard_routes

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
PREFIX = "/sites/{domain}"


def documented(path: str) -> bool:
    # `{funnel_id:int}` in a route reads `ID` (any capitals) in the docs.
    pattern = re.sub(r"\\\{[^}]*\\\}", "[A-Z]+", re.escape(path))
    return re.search(f"`{pattern}[`?( ]", DOCS) is not None


def test_every_view_is_documented() -> None:
    views = {
        route.path.removeprefix(PREFIX).removesuffix(".json")
        for route in dashboard_routes()
        if isinstance(route, Route)
        and route.path.startswith(PREFIX + "/")
        and "GET" in (route.methods or set())
    }
    assert views, "no views found"
    missing = sorted(v for v in views if not documented(v))
    assert missing == [], "document these views in docs/dashboard.md"


def test_the_screenshot_script_makes_every_image_the_page_shows() -> None:
    """`make screenshots` remakes them all: an image added to the page is added to the script."""
    root = Path(__file__).resolve().parents[2]
    script = (root / "scripts" / "screenshots.py").read_text()
    made = set(re.findall(r"""shoot(?:_top)?\(\s*"([\w-]+)\"""", script))
    shown = set(re.findall(r"\]\(images/dashboard-([\w-]+)\.png\)", DOCS))
    assert shown and made == shown
    assert all((root / "docs" / "images" / f"dashboard-{name}.png").is_file() for name in shown)
