"""The Stage-2 grounded execution reward over the feedback dataset's columns."""

from __future__ import annotations

import pickle

import pytest

from tests.unit.training.fixtures import feedback_records, write_feedback
from tracer1.actions import Answer, Tool, format_action, parse_action
from tracer1.rewards import GroundedExecutionReward, grounded_score
from tracer1.training.stage2 import feedback_rows


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    directory = write_feedback(tmp_path_factory.mktemp("fb"), feedback_records(seeds=range(1)))
    return feedback_rows(directory, horizon=3, history=2)


def columns(rows):
    keys = ("suite", "family", "seed", "difficulty", "history", "reference_action",
            "reference_box", "reference_text")
    return {k: [r[k] for r in rows] for k in keys}


def plan(*actions):
    return "<plan>\n" + "".join(format_action(a) + "\n" for a in actions) + "</plan>"


def test_expert_action_scores_one_and_a_wrong_one_zero(rows):
    reward = GroundedExecutionReward()
    expert = [plan(parse_action(r["reference_action"])) for r in rows]
    assert reward(prompts=None, completions=expert, **columns(rows)) == [1.0] * len(rows)
    wrong = [plan(Tool.of("calculator", {"expression": "1 + 1"}), Answer("nope"))] * len(rows)
    assert reward(prompts=None, completions=wrong, **columns(rows)) == [0.0] * len(rows)


def test_first_action_counts_and_bad_plans_score_zero(rows):
    reward = GroundedExecutionReward()
    row = rows[0]
    good = parse_action(row["reference_action"])
    completions = [
        plan(good, Answer("whatever")),  # only the first action is executed
        plan(Answer("whatever"), good),
        "no plan at all",
        "<plan>\n</plan>",
        [{"role": "assistant", "content": plan(good)}],  # conversational form
    ]
    cols = {k: v * len(completions) for k, v in columns([row]).items()}
    assert reward(prompts=None, completions=completions, **cols) == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_identical_samples_share_one_execution(rows):
    reward = GroundedExecutionReward()
    row = rows[2]
    group = [plan(parse_action(row["reference_action"]))] * 4 + ["junk"] * 4
    cols = {k: v * len(group) for k, v in columns([row]).items()}
    assert reward(prompts=None, completions=group, **cols) == [1.0] * 4 + [0.0] * 4
    assert reward.executions == 1
    reward(prompts=None, completions=group, **cols)  # the next epoch: cached
    assert reward.executions == 1


def test_pickles_without_its_caches(rows):
    reward = GroundedExecutionReward()
    reward(prompts=None, completions=[plan(parse_action(rows[0]["reference_action"]))],
           **columns(rows[:1]))
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "grounded_reward" and clone.executions == 0


def test_missing_columns_are_a_wiring_error():
    with pytest.raises(ValueError, match="suite"):
        GroundedExecutionReward()(prompts=None, completions=["x"])


def test_grounded_score_answers_and_gui():
    from tracer1.actions import Box, Click

    assert grounded_score({"answer": "42", "correct": True}, "42.0") == 1.0
    assert grounded_score({"tool": "search", "args": {}, "output": "x", "ok": False}, "x") == 0.0
    assert grounded_score({"point": [5, 5]}, Click(5, 5, box=Box(0, 0, 10, 10))) == 1.0
    assert grounded_score({"point": [50, 5]}, Click(5, 5, box=Box(0, 0, 10, 10))) == 0.0
