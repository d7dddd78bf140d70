"""The trainers report their steps through `tracer1.progress` (tqdm is off): a tiny SFT and
a tiny Stage-1 GRPO run with real trl trainers log step i/N with a rate and an ETA."""

from __future__ import annotations

import logging
import re

import pytest

from tests.unit.training.fixtures import tiny_params, write_trajectories
from tracer1.layout import Layout
from tracer1.training import run_sft, run_stage1

pytestmark = pytest.mark.integration


def _lines(caplog, label):
    return [r.getMessage() for r in caplog.records
            if r.name == "tracer1.progress" and r.getMessage().startswith(label)]


def test_sft_and_grpo_steps_show_progress(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tracer1.progress")
    write_trajectories(tmp_path / "traj", train_seeds=range(2), val_seeds=range(100, 101))
    params = tiny_params(tmp_path, sft_steps=3, grpo_steps=2, horizon=1)
    run_sft(params, "v", layout=Layout(tmp_path, "v"), data_dir=tmp_path / "traj", probe_windows=0)
    sft = _lines(caplog, "sft v: ")
    # The first step at once, then the last (the 30 s interval hides those between).
    assert re.fullmatch(r"sft v: 1/3 steps \(33%\), [\d.]+ (s/step|steps/s), ETA \d+s", sft[0])
    assert re.fullmatch(r"sft v: 3/3 steps \(100%\), [\d.]+ (s/step|steps/s), took \d+s, "
                        r"loss [\d.e+-]+", sft[-1]), sft

    run_stage1(params, "v", layout=Layout(tmp_path, "v"), data_dir=tmp_path / "traj")
    grpo = _lines(caplog, "stage1_grpo v: ")
    assert grpo[-1].startswith("stage1_grpo v: 2/2 steps (100%), "), grpo
    assert "reward " in grpo[-1]
