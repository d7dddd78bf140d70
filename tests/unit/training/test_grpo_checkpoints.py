"""Checkpoint bookkeeping of the GRPO runner: fingerprints, stale and partial checkpoints."""

from __future__ import annotations

import dataclasses
import json

from tracer1.config import GrpoConfig, PolicyConfig
from tracer1.rewards import FormatReward, TrajectoryReward
from tracer1.training.grpo import (
    FINGERPRINT_FILE,
    checkpoint_dir,
    prepare_checkpoints,
    reward_summary,
    run_fingerprint,
)


def fp(**overrides):
    args = {
        "cfg": GrpoConfig(),
        "reward_funcs": [TrajectoryReward(gamma=0.9, lambda_align=1.0, lambda_rep=0.5),
                         FormatReward(horizon=5)],
        "reward_weights": [1.0, 0.25],
        "model_hash": "m",
        "data_hash": "d",
        "policy_cfg": PolicyConfig(),
        "stage": "stage1_grpo",
    }
    return run_fingerprint(**{**args, **overrides})


def checkpoint(ckpt, step, complete=True):
    path = ckpt / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_checkpoint_dir_is_a_sibling_of_the_output():
    assert str(checkpoint_dir("models/a/stage1")) == "models/a/stage1.ckpt"
    assert str(checkpoint_dir("models/a/stage1/")) == "models/a/stage1.ckpt"


def test_fingerprint_covers_what_decides_the_run():
    base = fp()
    assert fp() == base
    changed = [
        fp(cfg=dataclasses.replace(GrpoConfig(), learning_rate=1e-4)),
        fp(reward_funcs=[TrajectoryReward(gamma=0.5, lambda_align=1.0, lambda_rep=0.5),
                         FormatReward(horizon=5)]),
        fp(reward_weights=[1.0, 0.5]),
        fp(model_hash="other"),
        fp(data_hash="other"),
        fp(policy_cfg=PolicyConfig(max_new_tokens=64)),
        fp(stage="stage2_rft"),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_resume_picks_the_newest_complete_checkpoint(tmp_path):
    ckpt = tmp_path / "out.ckpt"
    assert prepare_checkpoints(ckpt, "f1") is None  # fresh: nothing to resume
    checkpoint(ckpt, 2)
    newest = checkpoint(ckpt, 10)
    partial = checkpoint(ckpt, 12, complete=False)  # killed while saving
    assert prepare_checkpoints(ckpt, "f1") == newest
    assert not partial.exists()


def test_stale_checkpoints_are_discarded(tmp_path):
    ckpt = tmp_path / "out.ckpt"
    prepare_checkpoints(ckpt, "f1")
    checkpoint(ckpt, 4)
    assert prepare_checkpoints(ckpt, "f2") is None
    assert not (ckpt / "checkpoint-4").exists()
    assert json.loads((ckpt / FINGERPRINT_FILE).read_text()) == {"fingerprint": "f2"}


def test_checkpoints_without_a_fingerprint_are_never_resumed(tmp_path):
    ckpt = tmp_path / "out.ckpt"
    checkpoint(ckpt, 4)  # e.g. left by an older version of the code
    assert prepare_checkpoints(ckpt, "f1") is None


def test_reward_summary():
    rows = [{"step": s, "reward": float(s), "rewards/format_reward/mean": 1.0,
             "rewards/format_reward/std": 0.0} for s in range(1, 21)]
    out = reward_summary(rows)
    assert out["reward"] == 10.5 and out["reward_first10"] == 5.5 and out["reward_last10"] == 15.5
    assert out["format_reward"] == 1.0
    assert not any("std" in k for k in out)
