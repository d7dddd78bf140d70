"""The Stage-1 reward gives the numbers recorded from the implementations it replaced.

`recorded_trajectory_rewards.json` holds, for 1,800 seeded forecasts (`random_case`,
seeded ``recorded-{horizon}-{gamma}``), what the numpy batch scorer (`batch`, the one
training called) and the per-item reference (`plain`) returned before the batch copy
was deleted. The two differed only in the last bits of some float64 sums (<= 2.3e-16),
never once trl has cast the rewards to float32.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.unit.rewards.test_trajectory_reward import random_case
from tracer1.actions import format_plan
from tracer1.rewards import TrajectoryReward, trajectory_reward, trajectory_rewards

RECORDED = json.loads((Path(__file__).parent / "recorded_trajectory_rewards.json").read_text())
SETTINGS = RECORDED["settings"]


def cases(setting):
    rng = random.Random(f"recorded-{setting['horizon']}-{setting['gamma']}")
    return [random_case(rng) for _ in range(setting["cases"])]


def weights(setting):
    return {k: setting[k] for k in ("gamma", "lambda_align", "lambda_rep", "horizon")}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"T{s['horizon']}-g{s['gamma']}")
def test_the_reward_is_the_recorded_reference(setting):
    got = [trajectory_reward(p, r, **weights(setting)) for p, r in cases(setting)]
    assert got == setting["plain"]  # bit for bit


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"T{s['horizon']}-g{s['gamma']}")
def test_the_batch_call_is_what_training_got(setting):
    data = cases(setting)
    got = trajectory_rewards([c[0] for c in data], [c[1] for c in data], **weights(setting))
    # trl stores rewards as float32: there they are identical, bit for bit.
    assert np.array_equal(np.float32(got), np.float32(setting["batch"]))
    assert got == pytest.approx(setting["batch"], abs=2.3e-16, rel=0)


def test_the_trl_reward_scores_the_recorded_numbers():
    setting = next(s for s in SETTINGS if s["horizon"] == 5 and s["gamma"] == 0.9)
    data = [(p, r) for p, r in cases(setting) if r]  # an empty reference is refused
    reward = TrajectoryReward(**weights(setting))
    expected = [trajectory_reward(p, r, **weights(setting)) for p, r in data]
    # Through the text form: boxes travel in their own column, as in the dataset.
    got = reward(completions=[format_plan(p) for p, _ in data],
                 reference=[format_plan(r) for _, r in data],
                 reference_boxes=[[getattr(a, "box", None) and a.box.to_list() for a in r]
                                  for _, r in data])
    assert np.array_equal(np.float32(got), np.float32(expected))
