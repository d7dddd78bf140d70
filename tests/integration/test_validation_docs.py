"""The validation pages in a real headless Chromium, offline: `docs/summary.html` shows
every expectation's verdict without fetching anything (GE's own Data Docs load 15 files
from CDNs and, offline, show empty result tables)."""

from __future__ import annotations

import io
import re

import pytest

from tests.integration.test_validation import records, validate
from tracer1.data.validation import format_summary
from tracer1.envs.browser import Browser

# No skip without a browser: `make test` installs one (or stops saying what to install).
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def driver():
    browser = Browser(window=(1280, 900))
    try:
        yield browser.start()
    finally:
        browser.close()


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
