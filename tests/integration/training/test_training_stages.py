"""SFT → Stage 1 → Stage 2 with a tiny model and real trl trainers, plus kill-and-resume.

One SFT run (module fixture) trains a 30k-parameter model on a few dozen windows
until its greedy plans parse; the GRPO stages then run a couple of steps from it.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.training.fixtures import (
    tiny_params,
    tiny_policy,
    write_feedback,
    write_trajectories,
)
from tracer1.actions import parse_plan
from tracer1.layout import Layout
from tracer1.policy import load_agent
from tracer1.policy.model import read_meta
from tracer1.training import checkpoint_dir, run_sft, run_stage1, run_stage2
from tracer1.training.data import window_records

pytestmark = pytest.mark.integration

SFT_STEPS = 250  # measured: all greedy plans parse from ~250 steps (75% at 150)
HORIZON = 1


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    write_trajectories(root / "traj")
    return root


@pytest.fixture(scope="module")
def sft(root):
    logged = []
    params = tiny_params(root, sft_steps=SFT_STEPS, horizon=HORIZON)
    metrics = run_sft(params, "v", layout=Layout(root, "v"), data_dir=root / "traj",
                      curve_path=root / "sft.csv",
                      probe_windows=8, log=lambda step, m: logged.append((step, m)))
    return params, metrics, logged


def test_sft_lowers_the_loss_and_writes_the_model_dir(root, sft):
    params, metrics, logged = sft
    curve = metrics["curve"]
    assert metrics["steps"] == SFT_STEPS == len(curve) == len(logged)
    assert curve[-1]["loss"] < curve[0]["loss"] / 4
    assert [step for step, _ in logged] == list(range(1, SFT_STEPS + 1))
    with (root / "sft.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == SFT_STEPS
    meta = read_meta(root / "models/v/sft")
    assert (meta.stage, meta.horizon, meta.history, meta.lora) == ("sft", HORIZON, 2, False)


def test_sft_model_emits_plans_that_parse(root, sft):
    agent = load_agent(root / "models/v/sft")
    rows = window_records(root / "traj", "train", horizon=HORIZON, history=2)[::3]
    plans = [texts[0] for texts in agent.plan_prompts([r["prompt"] for r in rows])]
    parsed = [parse_plan(p) for p in plans]
    ok = [p.ok and len(p.actions) == HORIZON for p in parsed]
    assert sum(ok) >= 0.6 * len(rows), plans[:3]
    assert plans[0].startswith("<plan>\n") and plans[0].endswith("</plan>")


def test_stage1_grpo_runs_and_logs_rewards(root, sft):
    params, _, _ = sft
    logged = []
    metrics = run_stage1(params, "v", layout=Layout(root, "v"), data_dir=root / "traj",
                         log=lambda step, m: logged.append((step, m)))
    assert metrics["steps"] == params.stage1_grpo.max_steps and metrics["resumed_from_step"] == 0
    keys = set().union(*(m for _, m in logged))
    assert {"reward", "rewards/trajectory_reward/mean", "rewards/format_reward/mean"} <= keys
    assert metrics["format_reward"] > 0  # the warm start emits well-formed plans
    assert read_meta(root / "models/v/stage1").stage == "stage1_grpo"
    assert not checkpoint_dir(root / "models/v/stage1").exists()


def test_stage2_runs_on_feedback(root, sft):
    params, _, _ = sft
    if not (root / "models/v/stage1").exists():
        run_stage1(params, "v", layout=Layout(root, "v"), data_dir=root / "traj")
    feedback = write_feedback(root / "feedback")
    metrics = run_stage2(params, "v", feedback, layout=Layout(root, "v"))
    assert metrics["steps"] == params.stage2_rft.max_steps
    assert metrics["executions"] >= 1  # parseable first actions were executed and scored
    assert "grounded_reward" in metrics
    agent = load_agent(root / "models/v/stage2")
    assert agent.meta.stage == "stage2_rft" and agent.horizon == HORIZON


def test_lora_base_model_through_sft_and_grpo(root, tmp_path):
    # The real-base-model path offline: a tiny Llama saved to disk is the "hub" model.
    from tracer1.policy.model import build_tiny
    from tracer1.policy.tokenizer import train_tokenizer

    rows = window_records(root / "traj", "train", horizon=HORIZON, history=2)
    tok = train_tokenizer([r["prompt"] for r in rows] + [r["completion"] for r in rows], 320)
    base = tmp_path / "base"
    build_tiny(tiny_policy(), tok).save_pretrained(base)
    tok.save_pretrained(base)
    params = tiny_params(tmp_path, policy=tiny_policy(base_model=str(base)), sft_steps=2,
                         grpo_steps=1, horizon=HORIZON)
    run_sft(params, "v", layout=Layout(tmp_path, "v"), data_dir=root / "traj", probe_windows=0)
    run_stage1(params, "v", layout=Layout(tmp_path, "v"), data_dir=root / "traj")
    out = tmp_path / "models/v/stage1"
    assert (out / "adapter_config.json").is_file() and not (out / "model.safetensors").exists()
    assert not (out / "ref").exists()  # trl's frozen reference adapter is not saved
    agent = load_agent(out)
    assert agent.meta.lora and agent.meta.base_model == str(base)
    assert len(agent.plan_prompts([rows[0]["prompt"]], sample=True, num=2)[0]) == 2


def test_killed_grpo_resumes_from_its_last_checkpoint(tmp_path):
    from tracer1.policy.model import ModelMeta, build_tiny, save_model_dir
    from tracer1.policy.tokenizer import train_tokenizer

    traj = write_trajectories(tmp_path / "traj", train_seeds=range(2), val_seeds=range(100, 101))
    rows = window_records(traj, "train", horizon=2, history=2)
    tok = train_tokenizer([r["prompt"] for r in rows] + [r["completion"] for r in rows], 320)
    meta = ModelMeta(horizon=2, history=2, max_prompt_tokens=96, max_new_tokens=48,
                     variant="v", stage="sft")
    save_model_dir(tmp_path / "models/v/sft", build_tiny(tiny_policy(), tok), tok, meta)
    job = [sys.executable, str(Path(__file__).with_name("grpo_job.py")), str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    ckpt = checkpoint_dir(tmp_path / "models/v/stage1")

    first = subprocess.Popen([*job, "0.7"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not list(ckpt.glob("checkpoint-*/trainer_state.json")):
        assert first.poll() is None, first.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (tmp_path / "metrics.json").exists()  # it did not finish

    second = subprocess.run([*job, "0"], env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from" in second.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["resumed_from_step"] >= 2
    assert metrics["steps"] == 6
    # The curve spans the whole run: steps logged before the kill come from the checkpoint.
    assert [int(r["step"]) for r in metrics["curve"]] == [1, 2, 3, 4, 5, 6]
    assert read_meta(tmp_path / "models/v/stage1").stage == "stage1_grpo"
    assert not ckpt.exists()


def test_evaluate_scores_the_chosen_checkpoints_and_a_candidate_baseline_once(
        root, sft, tmp_path, monkeypatch):
    import dataclasses
    import shutil

    from tests.unit.training.fixtures import FAMILIES
    from tracer1 import stages
    from tracer1.config import (
        BuildDatasetConfig,
        EvaluateConfig,
        SeedRange,
        SplitSeeds,
        SuiteConfig,
    )
    from tracer1.layout import Layout

    params, _, _ = sft
    monkeypatch.chdir(tmp_path)  # the run's MLflow store lands here, with no champion in it
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    # The stage reads the working directory's layout: the trajectories, and the SFT
    # checkpoint standing in for Stage 2 (this is about which models get scored).
    here = Layout(tmp_path, "v")
    shutil.copytree(root / "traj", here.trajectories)
    shutil.copytree(Layout(root, "v").sft_model, here.stage2_model)
    params = dataclasses.replace(
        params,
        promote=dataclasses.replace(params.promote, model_name="tracer1-evaluate-policies"),
        suites={"tooluse": SuiteConfig(families=FAMILIES)},
        build_dataset=BuildDatasetConfig(
            seeds=SplitSeeds(train=SeedRange(0, 4), val=SeedRange(100, 102),
                             test=SeedRange(300, 300))),
        evaluate=EvaluateConfig(split="val", episodes_per_family=1, episode_limit=3,
                                bootstrap_samples=20, policies=("stage2",)),
    )
    assert params.forecast.baseline == params.forecast.candidate
    report = stages.evaluate(params, str(tmp_path / "params.yaml"))
    assert set(report["policies"]) == {"stage2"}  # no sft/stage1, no second copy as baseline
    assert report["roles"]["candidate"] == report["roles"]["baseline"] == "stage2"
    assert report["policies"]["stage2"]["suites"]["tooluse"]["episodes"] == len(FAMILIES)
    assert json.loads(here.eval_report.read_text())["roles"] == report["roles"]
