"""Serving the page and driving it in headless Chromium: shared by the browser tests and the
benchmark (benchmarks/app_bench.py). Chromium comes from Debian (`apt-get install chromium`);
Playwright drives it and never downloads a browser of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path(os.environ.get("APP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = "no Chromium at /usr/bin/chromium: install it with `apt-get install chromium`"
PROJECT = Path(__file__).resolve().parents[1]
SCREENSHOTS = PROJECT / "results" / "app"  # the committed ones, which the README shows
REFRESH_SCREENSHOTS = "APP_SCREENSHOTS"  # set to 1: the browser tests rewrite them there
VIEWPORT = {"width": 1366, "height": 768}  # the smallest laptop screen the page must fit


def screenshot_dir(scratch: Path) -> Path:
    """Where the browser tests save screenshots: `scratch` (a temporary folder), or
    results/app/ when APP_SCREENSHOTS=1 asks to refresh the committed ones."""
    folder = SCREENSHOTS if os.environ.get(REFRESH_SCREENSHOTS) == "1" else scratch
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(port: int | None = None, timeout: float = 90.0) -> Iterator[str]:
    """`python -m app.serve` (solara run app.page, its Origin checked) in a subprocess on a free
    port; yields its URL, stops it after."""
    port = port or free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115
        "w", prefix=f"app-server-{port}-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.serve", "--host", "127.0.0.1", "--port",
         str(port), "--production", "--no-open", "--no-check-version"],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)  # its own process group: the run workers stop with it
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {proc.returncode}); see {log.name}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no page at {url} after {timeout:.0f} s; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)  # the server and its worker processes
                proc.wait(timeout=10)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        log.close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def pick(page, select_class: str, option: str) -> None:
    """Choose `option` in the solara.Select carrying CSS class `select_class`."""
    page.click(f".{select_class}")
    page.locator(".v-menu__content.menuable__content__active .v-list-item",
                 has_text=option).first.click()


def fill(page, input_class: str, text: str) -> None:
    """Type into the solara input carrying `input_class` and commit it (Enter, then blur)."""
    box = page.locator(f".{input_class} input").first
    box.fill(text)
    box.press("Enter")
    box.blur()


def map_heading(page) -> str:
    return page.locator(".map-heading").first.inner_text()


def map_ranges(page) -> list[list[float]]:
    """The map's longitude and latitude ranges as drawn (they shrink when it zooms in)."""
    return page.evaluate("() => { const l = document.querySelector('.map')._fullLayout;"
                         " return [l.xaxis.range, l.yaxis.range]; }")


def site_position(page, site_id: str) -> tuple[float, float]:
    """Where on the screen the map draws the post or airport `site_id` (page pixels)."""
    return tuple(page.evaluate("""(id) => {
        const gd = document.querySelector('.map');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const box = gd.getBoundingClientRect();
        for (const trace of gd._fullData) {
            const ids = (trace.customdata || []).map(row => row[1]);
            const i = ids.indexOf(id);
            if (i >= 0 && /^(land post|airport)/.test(trace.name)) {
                return [box.left + xa._offset + xa.l2p(trace.x[i]),
                        box.top + ya._offset + ya.l2p(trace.y[i])];
            }
        }
        throw new Error('no site ' + id + ' on the map');
    }""", site_id))


def hover_text(page, x: float, y: float, expected: str) -> str:
    """Move the mouse to (x, y) and read the map's hover label once it holds `expected` (on
    the way the mouse may pass over other points, whose labels come and go); after 10 s, the
    label as it is."""
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)
    with contextlib.suppress(Exception):  # the caller's assertion shows what was there
        page.wait_for_function(
            "(text) => [...document.querySelectorAll('.map .hoverlayer .hovertext')]"
            ".some(label => label.textContent.includes(text))", arg=expected, timeout=10_000)
    return " | ".join(label.text_content() or "" for label in
                      page.query_selector_all(".map .hoverlayer .hovertext"))
