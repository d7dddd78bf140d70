"""`dvc plots show` works offline: every plot is a PNG, the page loads nothing remote.

DVC's vega renderer pulls vega, vega-lite and vega-embed from a CDN, so CSV plots
render a blank page without a network; images are embedded as plain ``<img>``.
The page DVC writes is opened in headless Chromium and every figure must have loaded.
"""

import re
import shutil

import pytest

from tests.helpers import REPO, VENV_BIN, run
from tests.unit.test_dvc_metrics import declared
from tracer1.evaluation.plots import plot_curves

DVC = str(VENV_BIN / "dvc")
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture
def plots_repo(tmp_path):
    """A scratch git + DVC repository with the project's dvc.yaml and a figure per plot."""
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(REPO / name, tmp_path / name)
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "t@example.com"],
                ["git", "config", "user.name", "t"], [DVC, "init", "-q"]):
        run(cmd, tmp_path)
    for i, path in enumerate(declared("plots")):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        if path.endswith(".png"):
            plot_curves({"loss": [(0, 1.0), (10, 0.5 - 0.01 * i)]}, tmp_path / path)
        else:  # a data plot (the old CSV curves): what the vega renderer draws
            (tmp_path / path).write_text("step,loss,reward\n0,1.0,0.1\n10,0.5,0.4\n")
    run(["git", "add", "-A"], tmp_path)
    run(["git", "commit", "-qm", "run"], tmp_path)
    return tmp_path


def test_plots_page_references_nothing_remote(plots_repo):
    run([DVC, "plots", "show", "-o", "page"], plots_repo)
    html = (plots_repo / "page/index.html").read_text()
    assert not REMOTE.search(html), REMOTE.search(html).group(0)
    assert html.count("<img") == len(declared("plots"))


def test_plots_page_renders_every_figure_offline_in_chromium(plots_repo):
    from tracer1.envs.browser import Browser, BrowserMissing, find_browser

    try:
        find_browser()
    except BrowserMissing as exc:
        pytest.skip(str(exc))
    run([DVC, "plots", "show", "-o", "page"], plots_repo)
    page = (plots_repo / "page/index.html").resolve()
    with Browser(window=(1200, 900)) as browser:
        driver = browser.driver
        driver.get(page.as_uri())
        loaded = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0);")
        remote = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => !n.startsWith('file:') && !n.startsWith('data:'));")
    assert loaded and all(loaded) and len(loaded) == len(declared("plots"))
    assert remote == []


def test_a_training_stage_writes_its_curve_figure_record_and_summary(tmp_path, monkeypatch):
    import json

    from tracer1 import stages
    from tracer1.layout import Layout

    monkeypatch.chdir(tmp_path)
    rows = [{"step": s, "loss": 1.0 / (s + 1), "learning_rate": 0.001} for s in range(5)]
    lay = Layout(variant="v")
    stages._write_stage_outputs("sft", lay, {"final_loss": 0.2, "out_dir": "m", "curve": rows})
    assert lay.curve("sft").read_text().startswith("step,")
    assert lay.curve_plot("sft").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert json.loads(lay.record("sft").read_text())["out_dir"] == "m"
    summary = lay.summary("sft")
    assert json.loads(summary.read_text()) == {"final_loss": 0.2}
