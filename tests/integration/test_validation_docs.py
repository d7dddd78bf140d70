"""The validation pages in a real headless Chromium with its network switched off:
`docs/summary.html` shows every expectation's verdict without fetching anything, and GE's
own Data Docs (which load 15 files from CDNs, and offline showed empty result tables)
render their tables from the CSS/JS vendored into the site."""

from __future__ import annotations

import io
import re

import pytest

from tests.integration.test_validation import records, validate
from tracer1.data.validation import format_summary
from tracer1.data.validation.offline_docs import VENDOR_DIR, external_resources
from tracer1.envs.browser import Browser

# No skip without a browser: `make test` installs one (or stops saying what to install).
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def driver():
    browser = Browser(window=(1280, 900))
    try:
        driver = browser.start()
        # Offline for real: any fetch beyond file:// fails, as on a machine with no network.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        # Every script error and every resource that failed to load, from the first byte on.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERRORS})
        yield driver
    finally:
        browser.close()


ERRORS = """window.__errors = [];
addEventListener('error', e => __errors.push(
  e.message || (e.target && (e.target.src || e.target.href)) || String(e)), true);"""


def _failing(tmp_path):
    recs = records()
    recs["val"][0]["instruction"] = ""
    recs["train"][3]["steps"][0]["target_box"] = [100, 200, 1300, 260]
    report = validate(tmp_path, recs)
    assert not report.success and len(report.failures) >= 2, format_summary(report)
    return report


def test_summary_page_renders_every_expectation_offline(tmp_path, driver):
    report = _failing(tmp_path)
    page = tmp_path / "out" / "docs" / "summary.html"
    assert report.paths["docs_summary"] == str(page)
    assert f"docs_summary: {page}" in format_summary(report)
    source = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", source)  # no reference to anything outside the file

    driver.get(page.as_uri())
    # What the browser fetched for the page besides the page itself: nothing.
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    rows = driver.execute_script(
        "return [...document.querySelectorAll('table.expectations tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.innerText))")
    assert len(rows) == len(report.results)
    assert sum(r[0] == "FAIL" for r in rows) == len(report.failures)
    failures = driver.execute_script(
        "return [...document.querySelectorAll('table.failures tbody tr')].map(tr => tr.className)")
    assert failures == ["fail"] * len(report.failures)
    box = next(r for r in rows if "steps.box_right, 0..1000" in r[1]
               and r[1].startswith("expect_column_values_to_be_between"))
    assert box[0] == "FAIL" and box[3] == "1 of 18" and "box_right=1300" in box[4]
    # The inline style applied: a failed verdict is red, bold.
    color, weight = driver.execute_script(
        "const s = getComputedStyle(document.querySelector('tr.fail td.status'));"
        "return [s.color, s.fontWeight];")
    assert color == "rgb(179, 38, 30)" and int(weight) >= 700

    shot = driver.get_screenshot_as_png()
    (tmp_path / "summary.png").write_bytes(shot)  # kept in pytest's tmp tree to look at
    from PIL import Image

    colors = Image.open(io.BytesIO(shot)).convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 10  # text, borders, red and green: not blank


def test_a_rerun_replaces_the_summary(tmp_path, driver):
    _failing(tmp_path)
    report = validate(tmp_path, records())
    assert report.success
    driver.get((tmp_path / "out" / "docs" / "summary.html").as_uri())
    assert driver.title == "validate_dataset: PASSED"
    assert driver.execute_script("return document.querySelectorAll('tr.fail').length") == 0


def _fonts_loaded(driver, family: str) -> bool:
    return driver.execute_async_script(
        "const [family, done] = arguments; document.fonts.ready.then(() => done("
        "[...document.fonts].some(f => f.family.includes(family) && f.status == 'loaded')));",
        family)


def test_ge_data_docs_render_their_tables_offline(tmp_path, driver):
    report = _failing(tmp_path)
    docs = tmp_path / "out" / "docs"
    pages = [p for p in docs.rglob("*") if p.suffix in (".html", ".css")
             and not p.is_relative_to(docs / VENDOR_DIR)]
    assert len(pages) >= 10  # index, 4 suites, 4 validation results, styles, summary
    for page in pages:
        assert external_resources(page.read_text(encoding="utf-8")) == [], page

    driver.get((docs / "index.html").as_uri())
    assert driver.execute_script("return window.__errors") == []
    # bootstrap-table built the validation-results table from its data: a row per table.
    rows = driver.execute_script(
        "return [...document.querySelectorAll("
        "'table.ge-index-page-validation-results-table tbody tr')]"
        ".map(tr => [tr.querySelector('.ge-failed-icon') ? 'FAIL' : 'ok', tr.innerText])")
    failing = {o.check.table for o in report.failures}
    assert len(rows) == 4 and failing == {"episodes", "steps"}
    assert {text.split()[-1] for verdict, text in rows if verdict == "FAIL"} == failing
    # Bootstrap's stylesheet applied, and Font Awesome's icons have their font.
    assert driver.execute_script(
        "return getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"
    assert _fonts_loaded(driver, "Font Awesome")

    (page,) = docs.glob("validations/steps/*/*/*.html")
    driver.get(page.as_uri())
    assert driver.execute_script("return window.__errors") == []
    cells = driver.execute_script(
        "return [...document.querySelectorAll('table tbody tr')]"
        ".filter(tr => tr.querySelector('.fa-times')).map(tr => tr.innerText)")
    # The box_right check (the section is the column): its failing value in the table.
    assert any("1300" in text and "1 unexpected values found" in text for text in cells), cells

    shot = driver.get_screenshot_as_png()
    (tmp_path / "data_docs.png").write_bytes(shot)  # kept in pytest's tmp tree to look at
    from PIL import Image

    colors = Image.open(io.BytesIO(shot)).convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 10
