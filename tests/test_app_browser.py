"""The web page in a real browser: it draws the map, runs a policy against 2022 (the map and the
numbers change), refuses an invalid edit with its message, and keeps two tabs apart.

Headless Chromium from Debian (`apt-get install chromium`; .ci/run installs it), driven by
Playwright. Screenshots go to results/app/ (the README shows them). About a minute in all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.browser import CHROMIUM, INSTALL_HINT, SCREENSHOTS, fill, launch, map_image, pick, serve

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(INSTALL_HINT, allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def url():
    with serve() as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1500, "height": 1050})
    page.goto(url)
    page.wait_for_selector(".map img", timeout=60_000)
    return page


def test_run_changes_the_map_and_the_numbers_and_tabs_stay_apart(browser, url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, url)
    other = open_page(browser, url)  # a second tab, open meanwhile
    before, other_before = map_image(page), map_image(other)
    pick(page, "policy-select", "kazakhstan_closes")
    fill(page, "n-runs", "3")
    page.click(".run-button")
    page.wait_for_selector(".progress-text:has-text('done')", timeout=RUN_TIMEOUT_MS)
    headline = page.locator(".headline").first.inner_text()
    assert re.search(r"kazakhstan_closes.*about [\d,]+ men left Russia", headline), headline
    page.wait_for_function("(old) => { const i = document.querySelector('.map img');"
                           " return i && i.src !== old; }", arg=before, timeout=30_000)
    assert map_image(page) != before
    page.screenshot(path=str(SCREENSHOTS / "map_after_run.png"))
    # the play button steps through the days: the map changes by itself
    shown = map_image(page)
    page.locator(".widget-play button").first.click()
    page.wait_for_function("(old) => document.querySelector('.map img').src !== old",
                           arg=shown, timeout=30_000)
    page.locator(".widget-play button").nth(1).click()  # pause
    page.get_by_role("tab", name="Against 2022").click()
    page.wait_for_selector("text=Left Russia by 30 Nov", timeout=30_000)
    sentences = page.locator(".outcome-sentences").first.inner_text()
    assert "Left Russia by 4 Oct" in sentences
    page.set_viewport_size({"width": 1500, "height": 2500})  # the charts below the table
    page.wait_for_function("document.querySelectorAll('.v-window-item--active img').length >= 3",
                           timeout=60_000)
    page.wait_for_timeout(1000)  # the tab's slide-in
    page.screenshot(path=str(SCREENSHOTS / "against_2022.png"))
    # take it away: the run's daily.csv and the policy's YAML
    page.set_viewport_size({"width": 1500, "height": 1050})
    page.get_by_role("tab", name="Take it away").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_text("Download daily.csv").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header == "date,node,name,node_type,metric,kind,value"
    with page.expect_download(timeout=30_000) as download:
        page.get_by_text("Download kazakhstan_closes.yaml").click()
    assert "name: kazakhstan_closes" in Path(download.value.path()).read_text()
    # the other tab ran nothing and still shows the world before any run
    assert other.locator(".headline").count() == 0
    assert map_image(other) == other_before
    page.close()
    other.close()


def test_invalid_edit_shows_its_message_and_runs_nothing(browser, url):
    page = open_page(browser, url)
    pick(page, "policy-select", "custom")
    fill(page, "action-0-targets", "XX-99")
    page.click(".run-button")
    error = page.wait_for_selector(".input-error", timeout=30_000)
    assert "XX-99" in error.inner_text() and "targets" in error.inner_text()
    assert page.locator(".headline").count() == 0
    assert "done" not in page.locator(".progress-text").first.inner_text()
    page.wait_for_selector(".run-button:not([disabled])", timeout=30_000)  # the check is over
    page.screenshot(path=str(SCREENSHOTS / "invalid_edit.png"))
    # a negative capacity is refused too, with the field named
    fill(page, "action-0-targets", "GE-01")
    page.locator(".action-card .v-select").first.click()
    page.locator(".v-menu__content.menuable__content__active .v-list-item",
                 has_text="capacity_factor").first.click()
    fill(page, "action-0-value", "-2")
    page.click(".run-button")
    page.wait_for_selector(".input-error:has-text('factor')", timeout=30_000)
    assert page.locator(".headline").count() == 0
    page.close()
