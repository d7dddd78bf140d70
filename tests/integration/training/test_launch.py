"""`tracer1 launch`: Stage 1 as two gloo ranks on this CPU, through the CLI, MLflow and all.

The same `tracer1 stage1-grpo` command that `dvc repro` runs, once as one process and once
under the launcher as two: both give a model directory, one FINISHED MLflow run and the
stage's reports, and the two-rank run trains on the same global batch. A rank killed
mid-run fails the launch (non-zero, the MLflow run not FINISHED, no model directory) and
leaves the checkpoint rank 0 wrote; the next two-rank launch resumes from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.unit.training.fixtures import tiny_policy, write_trajectories
from tracer1.policy.model import read_meta
from tracer1.training import checkpoint_dir
from tracer1.training.data import window_records

pytestmark = pytest.mark.integration

STEPS = 6
# `mlflow.set_tracking_uri` (an earlier test in this process) exports MLFLOW_TRACKING_URI.
MLFLOW_LOCATION = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME",
                   "MLFLOW_EXPERIMENT_ID")
LAUNCH = ("launch", "--processes", "2", "--", "stage1-grpo")
PARAMS = f"""
forecast:
  history: 2
  variants: {{v: {{horizon: 2}}}}
  candidate: v
  baseline: v
policy: {{kind: text, base_model: null, vocab_size: 320, hidden_size: 32, num_layers: 2,
          num_heads: 2, intermediate_size: 64, max_prompt_tokens: 96, max_new_tokens: 24}}
stage1_grpo: {{max_steps: {STEPS}, batch_size: 4, num_generations: 2, save_steps: 1,
               learning_rate: 0.001}}
tracking: {{tracking_uri: "sqlite:///mlflow.db", artifact_location: artifacts}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder: params, expert trajectories and an untrained SFT model dir."""
    from tracer1.policy.model import ModelMeta, build_tiny, save_model_dir
    from tracer1.policy.tokenizer import train_tokenizer

    root = tmp_path_factory.mktemp("launch")
    (root / "params.yaml").write_text(PARAMS)
    traj = write_trajectories(root / "data/trajectories", train_seeds=range(2),
                              val_seeds=range(100, 101))
    rows = window_records(traj, "train", horizon=2, history=2)
    tok = train_tokenizer([r["prompt"] for r in rows] + [r["completion"] for r in rows], 320)
    meta = ModelMeta(horizon=2, history=2, max_prompt_tokens=96, max_new_tokens=24,
                     variant="v", stage="sft")
    policy = tiny_policy(vocab_size=320)
    save_model_dir(root / "models/v/sft", build_tiny(policy, tok), tok, meta)
    return root


def tracer1(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracer1.cli", *args]


def env(pipeline: str) -> dict[str, str]:
    # One thread per rank: two ranks share this machine's two cores. Each run is its own
    # pipeline (parent run) in the one store, so its stage runs can be told apart.
    # The project's own store (params.yaml), whatever store the calling shell names.
    inherited = {k: v for k, v in os.environ.items() if k not in MLFLOW_LOCATION}
    return {**inherited, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
            "TRACER1_MALLOC": "system", "TRACER1_PIPELINE_ID": pipeline}


def runs(root: Path, pipeline: str) -> list[tuple[str, str]]:
    """(run name, status) of the stage runs of `pipeline` in the project's MLflow store."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root}/mlflow.db")
    experiment = client.get_experiment_by_name("tracer1")
    found = client.search_runs([experiment.experiment_id], filter_string=(
        f"tags.`tracer1.kind` = 'stage' and tags.`tracer1.pipeline_id` = '{pipeline}'"))
    return sorted((r.info.run_name, r.info.status) for r in found)


def reset(root: Path) -> None:
    import shutil

    for path in ("models/v/stage1", "models/v/stage1.ckpt", "reports"):
        shutil.rmtree(root / path, ignore_errors=True)


def complete_checkpoints(ckpt: Path) -> list[Path]:
    """The checkpoints whose `trainer_state.json` is whole (the Trainer writes it last): one
    seen half-written could be lost with the killed run, and the resume test with it."""
    whole = []
    for state in ckpt.glob("checkpoint-*/trainer_state.json"):
        with contextlib.suppress(OSError, ValueError):
            if json.loads(state.read_text()).get("global_step") == int(
                    state.parent.name.split("-")[-1]):
                whole.append(state.parent)
    return whole


def ranks(launch: subprocess.Popen) -> dict[str, psutil.Process]:
    """The launch's rank processes by ``RANK`` (the CLI processes the elastic agent started)."""
    found = {}
    for proc in psutil.Process(launch.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "tracer1.cli" in " ".join(proc.cmdline()) and "RANK" in proc.environ():
                found[proc.environ()["RANK"]] = proc
    return found


def test_two_ranks_give_what_one_process_gives_and_a_killed_rank_fails_cleanly(project):
    one = subprocess.run(tracer1("stage1-grpo"), cwd=project, env=env("one"),
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    single = json.loads((project / "reports/stage1_grpo/v.json").read_text())
    assert runs(project, "one") == [("stage1_grpo/v", "FINISHED")]
    reset(project)

    # Two ranks; rank 1 killed once rank 0 has written a checkpoint.
    ckpt = checkpoint_dir(project / "models/v/stage1")
    launch = subprocess.Popen(tracer1(*LAUNCH), cwd=project, env=env("killed"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, found = time.monotonic() + 240, {}
    while len(found) < 2 or not complete_checkpoints(ckpt):
        assert launch.poll() is None, launch.communicate()[0][-3000:]
        assert time.monotonic() < deadline, f"ranks {sorted(found)}, no checkpoint in 240 s"
        found = found if len(found) == 2 else ranks(launch)
        time.sleep(0.02)
    assert set(found) == {"0", "1"}, found
    found["0"].suspend()  # rank 0 cannot finish the run while rank 1 is being killed
    found["1"].kill()
    found["0"].resume()
    output = launch.communicate(timeout=120)[0]
    assert launch.returncode != 0, output[-3000:]
    assert "launch: stage1-grpo failed" in output
    assert not (project / "models/v/stage1").exists()  # no model dir from a failed run
    assert runs(project, "killed") == [("stage1_grpo/v", "FAILED")]  # rank 0 was stopped
    assert complete_checkpoints(ckpt)  # rank 0's checkpoint stays

    # The next two-rank launch resumes from it and gives what one process gave.
    two = subprocess.run(tracer1(*LAUNCH), cwd=project, env=env("two"), capture_output=True,
                         text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "resuming from" in two.stderr
    both = json.loads((project / "reports/stage1_grpo/v.json").read_text())
    assert set(both) == set(single)
    assert both["steps"] == single["steps"] == STEPS and both["resumed_from_step"] >= 1
    assert both["prompts"] == single["prompts"]  # every rank read the whole same dataset
    assert read_meta(project / "models/v/stage1").stage == "stage1_grpo"
    assert not ckpt.exists()
    # The curve spans the whole run, steps before the kill included (from the checkpoint).
    curve = (project / "reports/stage1_grpo/v_curve.csv").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in curve[1:]] == list(range(1, STEPS + 1))
    assert runs(project, "two") == [("stage1_grpo/v", "FINISHED")]  # rank 0's, and only it
