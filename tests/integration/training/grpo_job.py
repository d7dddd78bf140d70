"""A GRPO run in its own process, for the kill-and-resume test.

    python grpo_job.py ROOT SLEEP_PER_STEP

Trains Stage 1 from ROOT/models/v/sft on ROOT/traj and writes the returned metrics
to ROOT/metrics.json. SLEEP_PER_STEP slows every logged step, so the parent can kill
the process after its first checkpoint and before it finishes.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path


def main() -> None:
    root, pause = Path(sys.argv[1]), float(sys.argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    from tests.unit.training.fixtures import tiny_params
    from tracer1.layout import Layout
    from tracer1.training.stage1 import run_stage1

    params = tiny_params(root, grpo_steps=6, save_steps=2)
    metrics = run_stage1(params, "v", layout=Layout(root, "v"), data_dir=root / "traj",
                         log=lambda step, values: time.sleep(pause))
    (root / "metrics.json").write_text(json.dumps(metrics))


if __name__ == "__main__":
    main()
