"""The web page, timed in headless Chromium (not a test): how long until the map is drawn after
the page is opened (by the first visitor of a fresh server, while it still warms up, and once it
is ready: median of three), and how long a
scale-0.01 comparison of one policy against 2022, 10 runs each, takes from the click on "Run" to
"done". Targets (issue 12): drawn within 5 s, comparison within 20 s on two cores.

    .venv/bin/python benchmarks/app_bench.py [--policy finland_stays_open] [--runs 10]

Appends a row to benchmarks/app_results.md. Needs /usr/bin/chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

from app.browser import CHROMIUM, INSTALL_HINT, VIEWPORT, fill, launch, pick, serve

RESULTS = Path(__file__).with_name("app_results.md")
HEADER = ("| when (UTC) | load average | drawn, first visitor at server start (s) | drawn, "
          "server ready (median of 3) (s) | policy | runs each | comparison, click to done (s) "
          "| of which the runs (s) |\n|---|---|---|---|---|---|---|---|\n")
SETTLE_S = 20.0  # the server's warm-up (world, empty map, run workers) ends within this


def drawn_after(browser, url: str) -> tuple[object, float]:
    page = browser.new_page(viewport=VIEWPORT)
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(".map .main-svg", timeout=120_000)  # the Plotly map, drawn
    return page, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="finland_stays_open")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()[0]
    with serve() as url, sync_playwright() as p:
        browser = launch(p)
        first, first_s = drawn_after(browser, url)
        first.close()
        time.sleep(SETTLE_S)
        times = []
        for _ in range(3):
            page, seconds = drawn_after(browser, url)
            times.append(seconds)
            page.close()
        next_s = sorted(times)[1]
        page, _ = drawn_after(browser, url)
        pick(page, "policy-select", args.policy)
        fill(page, "n-runs", str(args.runs))
        started = time.perf_counter()
        page.click(".run-button")
        page.wait_for_selector(".progress-text:has-text('done')", timeout=600_000)
        compare_s = time.perf_counter() - started
        text = page.locator(".progress-text").first.inner_text()
        runs_s = float(re.search(r"in ([\d.]+) s", text).group(1))
        browser.close()
    row = (f"| {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} | {load:.1f} | {first_s:.1f} | "
           f"{next_s:.1f} | {args.policy} | {args.runs} | {compare_s:.1f} | {runs_s:.1f} |\n")
    if HEADER not in (RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""):
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(("" if RESULTS.exists() else "# The web page, timed in headless Chromium "
                      "(benchmarks/app_bench.py)\n") + "\n" + HEADER)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(row)
    print(HEADER + row, end="")


if __name__ == "__main__":
    main()
