"""Serving the page and driving it in headless Chromium: shared by the browser tests and the
benchmark (benchmarks/app_bench.py). Chromium comes from Debian (`apt-get install chromium`);
Playwright drives it and never downloads a browser of its own."""

from __future__ import annotations

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
SCREENSHOTS = PROJECT / "results" / "app"


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


def map_image(page) -> str:
    return page.locator(".map img").first.get_attribute("src") or ""
