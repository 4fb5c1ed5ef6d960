"""The web page in a real browser at 1366 x 768: the map zooms and names a post on hover; a run
against 2022 changes the map and the numbers; an invalid edit's message is in view without
scrolling and runs nothing; two tabs stay apart; no page error and no failed request (every
asset is served by the page itself, nothing from a CDN).

Headless Chromium from Debian (`apt-get install chromium`; .ci/run installs it), driven by
Playwright. Screenshots go to a temporary folder; APP_SCREENSHOTS=1 writes them to results/app/
(the committed ones the README shows) instead. About a minute in all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.browser import (
    CHROMIUM,
    INSTALL_HINT,
    VIEWPORT,
    fill,
    hover_text,
    launch,
    map_heading,
    map_ranges,
    pick,
    screenshot_dir,
    serve,
    site_position,
)

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


@pytest.fixture
def problems():
    """Page errors, failed requests and error responses seen by the pages of one test."""
    seen: list[str] = []
    yield seen
    assert not seen, "\n".join(seen)


def open_page(browser, url: str, problems: list[str]):
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
    page.on("response", lambda res: res.status >= 400
            and problems.append(f"HTTP {res.status}: {res.url}"))
    page.goto(url)
    page.wait_for_selector(".map .main-svg", timeout=60_000)
    return page


def test_the_map_zooms_and_names_a_post_on_hover(browser, url, problems, tmp_path):
    page = open_page(browser, url, problems)
    (lon0, lon1), (lat0, lat1) = map_ranges(page)
    x, y = site_position(page, "GE-01")  # Verkhny Lars, in the crowded Caucasus
    page.mouse.move(x - 50, y - 40)  # drag a box around it: the map zooms in
    page.mouse.down()
    page.mouse.move(x + 50, y + 40, steps=8)
    page.mouse.up()
    page.wait_for_function(f"document.querySelector('.map')._fullLayout.xaxis.range[1] - "
                           f"document.querySelector('.map')._fullLayout.xaxis.range[0] < "
                           f"{(lon1 - lon0) / 3}", timeout=10_000)
    (zlon0, zlon1), (zlat0, zlat1) = map_ranges(page)
    assert lon0 < zlon0 < 44.63 < zlon1 < lon1 and lat0 < zlat0 < 42.77 < zlat1 < lat1
    text = hover_text(page, *site_position(page, "GE-01"), expected="GE-01")
    assert "Verkhny Lars" in text and "GE-01" in text and "queue" in text
    page.screenshot(path=str(screenshot_dir(tmp_path) / "map_zoomed_hover.png"))
    page.close()


def test_run_changes_the_map_and_the_numbers_and_tabs_stay_apart(browser, url, problems,
                                                                   tmp_path):
    shots = screenshot_dir(tmp_path)
    page = open_page(browser, url, problems)
    other = open_page(browser, url, problems)  # a second tab, open meanwhile
    other_before = map_heading(other)
    pick(page, "policy-select", "kazakhstan_closes")
    fill(page, "n-runs", "3")
    page.click(".run-button")
    page.wait_for_selector(".progress-text:has-text('done')", timeout=RUN_TIMEOUT_MS)
    headline = page.locator(".run-headline").first.inner_text()
    assert re.search(r"kazakhstan_closes.*about [\d,]+ men left Russia", headline), headline
    assert "too few for a 90 % interval" in page.locator(".few-runs").first.inner_text()
    caveat = page.locator(".uncounted-caveat").first.inner_text()
    assert "Belarus" in caveat and "Abkhazia" in caveat and "Georgia" not in caveat
    page.wait_for_selector(".map-heading:has-text('men have left Russia so far')",
                           timeout=30_000)
    assert page.locator(".map .main-svg").first.is_visible()
    page.screenshot(path=str(shots / "map_after_run.png"))
    # the play button steps through the days: the date on the slider and the map move on
    shown = map_heading(page)
    page.locator(".widget-play button").first.click()
    page.wait_for_function("(old) => document.querySelector('.map-heading').innerText !== old",
                           arg=shown, timeout=30_000)
    page.locator(".widget-play button").nth(1).click()  # pause
    page.get_by_role("tab", name="Against 2022").click()
    page.wait_for_selector("text=Left Russia by 30 Nov", timeout=30_000)
    sentences = page.locator(".outcome-sentences").first.inner_text()
    assert "Left Russia by 4 Oct" in sentences
    assert page.get_by_text("Dashed ochre lines: 26 Sep close KZ").count() == 1
    page.set_viewport_size({"width": 1366, "height": 2400})  # the charts below the table
    page.wait_for_function("document.querySelectorAll('.v-window-item--active img').length >= 3",
                           timeout=60_000)
    page.wait_for_timeout(1000)  # the tab's slide-in
    page.screenshot(path=str(shots / "against_2022.png"))
    # take it away: the ensemble's table, the run's daily.csv and the policy's YAML
    page.set_viewport_size(VIEWPORT)
    page.get_by_role("tab", name="Take it away").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_text("Download the ensemble's medians and bands").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header == "date,series,unit,runs_of,runs,p05,median,p95"
    with page.expect_download(timeout=60_000) as download:
        page.get_by_text("Download daily.csv").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header == "date,node,name,node_type,metric,kind,value"
    with page.expect_download(timeout=30_000) as download:
        page.get_by_text("Download kazakhstan_closes.yaml").click()
    assert "name: kazakhstan_closes" in Path(download.value.path()).read_text()
    # the other tab ran nothing and still shows the world before any run
    assert other.locator(".run-headline").count() == 0
    assert map_heading(other) == other_before
    page.close()
    other.close()


def test_invalid_edit_shows_its_message_in_view_and_runs_nothing(browser, url, problems,
                                                                  tmp_path):
    page = open_page(browser, url, problems)
    pick(page, "policy-select", "custom")
    fill(page, "policy-name", "no_kazakhstan")
    fill(page, "action-0-targets", "XX-99")
    page.click(".run-button")
    error = page.wait_for_selector(".input-error", timeout=30_000)
    assert "XX-99" in error.inner_text() and "targets" in error.inner_text()
    sync_api.expect(page.locator(".input-error")).to_be_in_viewport()  # no scrolling needed
    beside = page.locator(".action-0-targets .v-messages").first  # and beside the field
    assert "unknown target 'XX-99'" in beside.inner_text()
    assert page.locator(".run-headline").count() == 0
    assert "done" not in page.locator(".progress-text").first.inner_text()
    page.wait_for_selector(".run-button:not([disabled])", timeout=30_000)  # the check is over
    page.screenshot(path=str(screenshot_dir(tmp_path) / "invalid_edit.png"))
    # a negative capacity is refused too, with the field named, beside the value box
    fill(page, "action-0-targets", "GE-01")
    page.locator(".action-card .v-select").first.click()
    page.locator(".v-menu__content.menuable__content__active .v-list-item",
                 has_text="capacity_factor").first.click()
    fill(page, "action-0-value", "-2")
    page.click(".run-button")
    page.wait_for_selector(".input-error:has-text('factor')", timeout=30_000)
    sync_api.expect(page.locator(".input-error")).to_be_in_viewport()
    assert "negative" in page.locator(".action-0-value .v-messages").first.inner_text()
    assert page.locator(".action-0-targets.error--text").count() == 0  # that one is mended
    assert page.locator(".run-headline").count() == 0
    page.close()
