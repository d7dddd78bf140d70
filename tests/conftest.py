import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, run

# Tests never talk to the outside: keep third-party telemetry off.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

SMALL_PARAMS = """
forecast: {history: 2}
build_dataset:
  max_steps: 30
  suites:
    tooluse: {difficulties: [1, 2, 3]}
  seeds:
    train: {start: 0, stop: 6}
    val: {start: 6, stop: 8}
    test: {start: 8, stop: 10}
validate_dataset: {}
"""


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A fresh git checkout-like copy of the project (tracked + untracked, not ignored files)."""
    files = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], REPO
    ).stdout.split("\0")
    dest = tmp_path / "proj"
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    run(["git", "init", "-q"], dest)
    (dest / "params.yaml").write_text(SMALL_PARAMS)
    return dest
