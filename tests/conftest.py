import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, run

# Tests never talk to the outside: keep third-party telemetry off.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The whole pipeline at a tiny budget: a handful of seeds, a 2-layer model, a few steps.
SMALL_PARAMS = """
forecast:
  history: 2
  variants: {anticipatory: {horizon: 3}, reactive: {horizon: 1}}
  candidate: anticipatory  # dvc.yaml interpolates these two
  baseline: reactive
suites:
  tooluse: {difficulties: [1, 2, 3]}
  miniwob: {families: [click-button], episodes_per_family: 2, options: {episodes_in_flight: 2}}
build_dataset:
  episode_limit: 30
  seeds:
    train: {start: 0, stop: 6}
    val: {start: 6, stop: 8}
    test: {start: 8, stop: 10}
validate_dataset: {}
tracking: {}
policy:
  kind: text
  base_model: null     # the tiny test model: prepare_base writes only source.json
  vocab_size: 320
  hidden_size: 32
  num_layers: 2
  num_heads: 2
  intermediate_size: 64
  max_prompt_tokens: 384
  max_new_tokens: 48
sft: {max_steps: 8, batch_size: 4, warmup_steps: 0}
stage1_grpo: {max_steps: 2, batch_size: 4, num_generations: 2, save_steps: 1}
collect_feedback: {episodes_per_family: 1, episode_limit: 3}
stage2_rft: {max_steps: 2, batch_size: 4, num_generations: 2, save_steps: 1}
evaluate: {episodes_per_family: 1, episode_limit: 3, bootstrap_samples: 50}
promote:
  model_name: tracer1-planner  # dvc.yaml lists this key
  floors: {tooluse: 0.0, miniwob: 0.0}
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
