"""The dashboard's first render over 10 million events: is the main view up within a second?

Generates a month of traffic with `bench/query_world.py` straight into a DuckDB store (kept in
the temporary folder and reused by later runs of the same size), starts `clycyo serve` on it,
logs in through the form, and measures:
- the main view's HTML (totals and chart: the first render), cold and warm;
- each panel fragment (they load in parallel after the first render);
- in Chromium: until the page's chart is drawn (first render) and until every panel is filled.
Writes `bench/results/dashboard-*.json` and `.md`. Not a test: run `python bench/dashboard.py`.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from processes import free_port  # noqa: E402
from query_world import DOMAIN, load  # noqa: E402

from clycyo.config.passwords import hash_password  # noqa: E402
from clycyo.config.store import ConfigStore  # noqa: E402
from clycyo.runtime import config_path  # noqa: E402
from clycyo.store.duckdb.store import DuckDBStore  # noqa: E402

EMAIL, PASSWORD = "bench@example.com", "bench password"
PANELS = (
    "pages",
    "sources",
    "locations",
    "devices",
    "goals",
    "revenue",
    "vitals",
    "errors",
    "rage",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def prepare(data: Path, events: int) -> None:
    marker = data / "bench.json"
    if marker.exists() and json.loads(marker.read_text()).get("requested") == events:
        print(f"reusing {data}")
        return
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    config = ConfigStore(config_path(data))
    site = config.add_site(DOMAIN).site
    assert site.id == 1, "query_world writes site 1"
    config.add_user(EMAIL, hash_password(PASSWORD))
    store = DuckDBStore(data / "events.duckdb")
    print(f"generating {events:,} events into {data} …")
    counts = load(store, events)
    store.close()
    marker.write_text(json.dumps({"requested": events, **counts}))


def serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    log_path = data.parent / f"{data.name}-server.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "clycyo", "serve", "--data", str(data), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 600  # opening 10 M events (the writer's memory) takes a while
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server did not start; see {log_path}")


def login(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"csrf": csrf, "email": EMAIL, "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=form))
    return opener


def timed(opener: urllib.request.OpenerDirector, url: str) -> float:
    started = time.perf_counter()
    with opener.open(url) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - started


def in_chromium(base: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # Land on a page without panels, so nothing else is running when the timing starts.
        page.goto(f"{base}/login?next=%2Fsites.json")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        found = {}
        for attempt in ("cold", "warm"):
            started = time.perf_counter()
            page.goto(f"{base}/sites/{DOMAIN}?period=30d&attempt={attempt}")
            page.wait_for_selector("#chart canvas")
            first = time.perf_counter() - started
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-panel-src]')]"
                ".every(p => p.dataset.loaded)",
                timeout=120_000,
            )
            found[f"browser_{attempt}_first_render_s"] = first
            found[f"browser_{attempt}_all_panels_s"] = time.perf_counter() - started
        page.screenshot(path=str(ROOT / "bench" / "results" / "dashboard-10m.png"), full_page=True)
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "clycyo-bench-dashboard"
    )
    args = parser.parse_args()
    data = args.data.resolve()
    prepare(data, args.events)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data, port)
    try:
        opener = login(base)
        main_view = f"{base}/sites/{DOMAIN}?period=30d"
        cold = timed(opener, main_view)
        warm = [timed(opener, main_view) for _ in range(5)]
        panels = {p: timed(opener, f"{base}/sites/{DOMAIN}/panels/{p}?period=30d") for p in PANELS}
        started = time.perf_counter()
        with ThreadPoolExecutor(6) as pool:  # as a browser loads them: several at once
            list(
                pool.map(
                    lambda p: timed(opener, f"{base}/sites/{DOMAIN}/panels/{p}?period=30d"), PANELS
                )
            )
        all_panels = time.perf_counter() - started
        browser = in_chromium(base)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    result = {
        "events": args.events,
        "cpus": os.cpu_count(),
        "main_view_cold_s": round(cold, 3),
        "main_view_warm_median_s": round(statistics.median(warm), 3),
        "panels_s": {k: round(v, 3) for k, v in panels.items()},
        "all_panels_parallel_s": round(all_panels, 3),
        **{k: round(v, 3) for k, v in browser.items()},
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"dashboard-{stamp}.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# Dashboard first render, {args.events:,} events ({os.cpu_count()} CPUs)",
        "",
        "| measure | seconds |",
        "|---|---|",
        f"| main view HTML (totals + chart), cold | {result['main_view_cold_s']} |",
        f"| main view HTML, warm (median of 5) | {result['main_view_warm_median_s']} |",
        f"| Chromium: chart drawn, cold | {result['browser_cold_first_render_s']} |",
        f"| Chromium: chart drawn, warm | {result['browser_warm_first_render_s']} |",
        f"| Chromium: every panel filled, warm | {result['browser_warm_all_panels_s']} |",
        f"| all panels, 6 at a time | {result['all_panels_parallel_s']} |",
        *[f"| panel {k} | {v} |" for k, v in result["panels_s"].items()],
    ]
    (out / f"dashboard-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
