"""The trl-signature wrappers: strings and conversational completions, columns, pickling."""

from __future__ import annotations

import pickle

import pytest

from tracer1.actions import Answer, Click, Done, Type, format_plan
from tracer1.rewards import (
    FormatReward,
    TrajectoryReward,
    completion_text,
    trajectory_reward,
)

REF_ACTIONS = [Click(150, 125), Type("alice"), Done()]
REF = format_plan(REF_ACTIONS)
BOXES = [[100, 100, 200, 150], None, None]
PARAMS = {"gamma": 0.5, "lambda_align": 1.0, "lambda_rep": 0.5}


def conversational(text):
    return [{"role": "assistant", "content": text}]


def trl_call(fn, completions, **columns):
    # What GRPOTrainer passes: prompts, completions, completion_ids, every extra dataset
    # column, and its own extras (trainer_state, log_extra, log_metric).
    n = len(completions)
    return fn(
        prompts=[[{"role": "user", "content": "task"}]] * n,
        completions=completions,
        completion_ids=[[1, 2, 3]] * n,
        trainer_state=None,
        log_extra=lambda *a, **k: None,
        log_metric=lambda *a, **k: None,
        **columns,
    )


def test_trajectory_reward_on_strings_and_conversations():
    fn = TrajectoryReward(**PARAMS)
    near_miss = format_plan([Click(190, 149), Type("alice"), Done()])  # inside the box
    completions = [REF, conversational(REF), near_miss, "no plan at all", conversational(None)]
    n = len(completions)
    scores = trl_call(fn, completions, reference=[REF] * n, reference_boxes=[BOXES] * n)
    assert scores == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_boxes_are_optional_and_change_click_credit():
    fn = TrajectoryReward(**PARAMS)
    near_miss = format_plan([Click(190, 149), Type("alice"), Done()])
    (without,) = trl_call(fn, [near_miss], reference=[REF])
    (with_box,) = trl_call(fn, [near_miss], reference=[REF], reference_boxes=[BOXES])
    assert without < with_box == 1.0


def test_partly_broken_completion_keeps_credit_for_what_parsed():
    fn = TrajectoryReward(**PARAMS)
    text = "<plan>\nclick(x=150, y=125)\ntype(text=alice)\ndone()\n</plan>"  # line 2 is bad
    (score,) = trl_call(fn, [text], reference=[REF])
    expected = trajectory_reward([Click(150, 125), Done()], REF_ACTIONS, **PARAMS)
    assert score == pytest.approx(expected)
    assert 0 < score < 1


def test_unparseable_reference_scores_none_with_a_warning():
    fn = TrajectoryReward(**PARAMS)
    with pytest.warns(UserWarning, match="unparseable reference"):
        scores = trl_call(fn, [REF, REF], reference=["<plan>\nclik()\n</plan>", REF])
    assert scores == [None, 1.0]


def test_horizon_pads_a_short_reference():
    fn = TrajectoryReward(**PARAMS, horizon=4)
    pred = format_plan([Answer("4")])
    (score,) = trl_call(fn, [pred], reference=[format_plan([Answer("4")])])
    assert score == 1.0


def test_format_reward_wrapper():
    fn = FormatReward(horizon=3)
    completions = [REF, conversational(REF), format_plan([Click(1, 1)]), "junk"]
    assert trl_call(fn, completions) == [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        FormatReward(horizon=0)


def test_wrappers_are_named_and_picklable():
    for fn, name in [
        (TrajectoryReward(**PARAMS), "trajectory_reward"),
        (FormatReward(horizon=3), "format_reward"),
    ]:
        assert fn.__name__ == name
        clone = pickle.loads(pickle.dumps(fn))
        assert clone.__name__ == name
        assert trl_call(clone, [REF], reference=[REF]) == trl_call(fn, [REF], reference=[REF])


def test_completion_text_shapes():
    assert completion_text("x") == "x"
    assert completion_text({"role": "assistant", "content": "x"}) == "x"
    parts = [{"type": "image"}, {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "ab"
    assert completion_text([{"role": "tool", "content": "out"}]) == ""
    assert completion_text(None) == "" and completion_text(42) == ""


def test_missing_reference_column_is_a_loud_wiring_error():
    with pytest.raises(ValueError, match="reference"):
        trl_call(TrajectoryReward(**PARAMS), [REF])
