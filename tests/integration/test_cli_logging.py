"""The CLI logs tracer1's own lines at INFO and quiets the libraries (`cli.configure_logging`):
`validate-dataset` printed 214 lines of Great Expectations INFO before its verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.integration.test_validation import records, write

pytestmark = pytest.mark.integration


def _python(args, cwd, **env):
    # TRACER1_MALLOC=system: no re-exec under tcmalloc, one process to read the output of.
    full = {**os.environ, "TRACER1_MALLOC": "system", **env}
    full.pop("MLFLOW_LOGGING_LEVEL", None)
    full.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=300)


def test_validate_dataset_prints_its_verdict_and_no_library_info(tmp_path):
    write(tmp_path / "data", records())
    (tmp_path / "params.yaml").write_text("validate_dataset: {}\n")
    proc = _python(["-m", "tracer1.cli", "validate-dataset", "--params", "params.yaml",
                    "--input", "data", "--out", "out"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("validate_dataset PASSED: ")
    noise = [line for line in proc.stderr.splitlines()
             if "INFO" in line and ("great_expectations" in line or "mlflow" in line)]
    assert noise == [], f"{len(noise)} library INFO lines, e.g. {noise[:3]}"
    assert proc.stderr.strip() == "", proc.stderr[-3000:]  # nothing else to say on a pass


def test_tracer1_info_is_shown_library_info_and_bars_are_not(tmp_path):
    code = (
        "import logging\n"
        "from tracer1.cli import configure_logging\n"
        "configure_logging()\n"
        "logging.getLogger('tracer1.training.sft').info('ours at info')\n"
        "logging.getLogger('great_expectations._docs_decorators').info('theirs at info')\n"
        "logging.getLogger('urllib3.connectionpool').info('theirs at info')\n"
        "logging.getLogger('great_expectations.core').warning('theirs at warning')\n"
        "import mlflow.store.db.utils as u\n"
        "u._logger.info('mlflow at info')\n"
        "import tqdm\n"  # off a terminal (stderr is a pipe here): no bars
        "for _ in tqdm.tqdm(range(3), desc='a library bar'): pass\n"
    )
    proc = _python(["-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "INFO tracer1.training.sft: ours at info",
        "WARNING great_expectations.core: theirs at warning",
    ]


def test_build_dataset_logs_its_episodes_off_a_terminal(tmp_path):
    """Piped (a log file, a pod's log), `build-dataset` says how far its experts are: it
    printed nothing but a tqdm bar, and that only on a terminal."""
    (tmp_path / "params.yaml").write_text(
        "suites: {tooluse: {families: [], difficulties: [1]}}\n"
        "build_dataset:\n"
        "  seeds: {train: {start: 0, stop: 2}, val: {start: 2, stop: 3},"
        " test: {start: 3, stop: 4}}\n"
        "tracking: {tracking_uri: 'sqlite:///mlflow.db', artifact_location: artifacts}\n")
    proc = _python(["-m", "tracer1.cli", "build-dataset", "--params", "params.yaml"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "tracer1.progress" in line]
    assert lines, proc.stderr[-3000:]
    assert re.fullmatch(r"INFO tracer1\.progress: build_dataset: (\d+)/\1 episodes \(100%\), "
                        r"[\d.]+ (s/episode|episodes/s), took \d+s, \1 solved", lines[-1])
    assert "\r" not in proc.stderr  # no bar redrawn into the log
