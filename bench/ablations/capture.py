"""`tracer1` as the ablation experiments see it: the real CLI, then a copy of `reports/`.

`run.py` puts a `tracer1` shim that runs this file first on the experiments' PATH.
Why: ``dvc exp run --temp`` deletes its temporary workspace when the experiment
ends, and this repository git-ignores `/reports/`, so neither the experiment commit
nor `dvc exp show` keeps `reports/eval/report.json` (nor any stage metrics); the
report is a ``cache: false`` output, so it is not in the DVC cache either. The one
moment it exists is right after `tracer1 evaluate` in the temporary workspace, so
this copies `reports/` (all stages' metrics and curves, the eval report and
figures; not the Data Docs) to ``$TRACER1_ABLATION_CAPTURE`` then. The stage
commands in dvc.yaml are unchanged, so DVC's run-cache keys are too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REAL_ENV = "TRACER1_ABLATION_REAL"
CAPTURE_ENV = "TRACER1_ABLATION_CAPTURE"
CAPTURE_AFTER = "evaluate"
"""The last stage of an ablation run: every other stage's reports exist by then."""


def copy_reports(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("docs", ".*"), dirs_exist_ok=True)


def main(argv: list[str]) -> int:
    rc = subprocess.call([os.environ[REAL_ENV], *argv])
    if rc == 0 and argv[:1] == [CAPTURE_AFTER] and os.environ.get(CAPTURE_ENV):
        copy_reports(Path("reports"), Path(os.environ[CAPTURE_ENV]) / "reports")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
