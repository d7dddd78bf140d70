"""The Stage-1 trajectory reward: hand-computed examples, and a batch call == one by one."""

from __future__ import annotations

import random

import pytest

from tracer1.actions import Answer, Box, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.rewards import (
    discount_weights,
    forecast_window,
    repetition_flags,
    trajectory_reward,
    trajectory_rewards,
)

W = {"lambda_align": 1.0, "lambda_rep": 0.5}


def reward(pred, ref, gamma=0.5, **kw):
    return trajectory_reward(pred, ref, gamma=gamma, **{**W, **kw})


def test_perfect_forecast_scores_one():
    ref = [Click(1, 2), Type("a"), Press("enter"), Done()]
    assert reward(ref, ref) == 1.0


def test_gamma_weights_early_steps_more():
    ref = [Type("a"), Type("b"), Type("c")]
    # weights 1, .5, .25 (sum 1.75)
    assert reward([Type("a"), Type("x"), Type("y")], ref) == pytest.approx(1 / 1.75)
    assert reward([Type("x"), Type("y"), Type("c")], ref) == pytest.approx(0.25 / 1.75)
    assert reward([Type("x"), Type("y"), Type("c")], ref, gamma=1.0) == pytest.approx(1 / 3)
    assert discount_weights(0.9, 3) == pytest.approx([1, 0.9, 0.81])


def test_partial_similarity_is_weighted():
    ref = [Click(100, 100), Type("red car")]
    pred = [Click(100, 170), Type("the red cars")]  # sims 0.5, 0.5
    assert reward(pred, ref, gamma=0.8) == pytest.approx(0.5)


def test_repetition_penalty():
    ref = [Click(100, 100), Click(500, 500), Type("a")]
    pred = [Click(100, 100), Click(105, 110), Click(100, 100)]  # two repeats of the first
    # sims 1, 0, 0; rep 0, 1, 1 -> (1 - .5*.5 - .25*.5) / 1.75
    assert reward(pred, ref) == pytest.approx((1 - 0.25 - 0.125) / 1.75)
    assert reward(pred, ref, lambda_rep=0.0) == pytest.approx(1 / 1.75)
    assert repetition_flags(pred) == [0, 1, 1]


def test_repeating_equal_non_click_actions_is_penalised_but_not_done():
    assert repetition_flags([Press("tab"), Press("tab"), Press("Tab")]) == [0, 1, 0]
    assert repetition_flags([Answer("4"), Done(), Done(), Answer("4")]) == [0, 0, 0, 1]


def test_reward_can_be_negative():
    ref = [Type("a"), Type("b")]
    assert reward([Press("x"), Press("x")], ref, gamma=1.0, lambda_rep=1.0) == -0.5


def test_reference_padded_with_done_via_horizon():
    ref = [Type("a")]
    pred = [Type("a"), Done(), Done()]
    assert reward(pred, ref, horizon=3) == 1.0
    assert reward(pred, [Type("a"), Done(), Done()]) == 1.0  # the caller padded it
    assert reward([Type("a"), Type("b"), Done()], ref, horizon=3) == pytest.approx(1.25 / 1.75)
    assert reward([Type("a"), Type("b")], [Type("a"), Type("b"), Type("c")], horizon=1) == 1.0


def test_missing_positions_score_zero():
    ref = [Type("a"), Type("b"), Type("c")]
    assert reward([Type("a")], ref) == pytest.approx(1 / 1.75)
    assert reward([], ref) == 0.0


def test_plan_ending_in_a_terminal_action_is_padded_with_done():
    ref = [Answer("4"), Done(), Done()]
    assert reward([Answer("4")], ref) == 1.0
    assert reward([Click(1, 1), Done()], [Click(1, 1), Done(), Done()]) == 1.0
    assert forecast_window([Type("a")], 2) == [Type("a"), None]


def test_extra_predicted_positions_are_ignored():
    ref = [Type("a")]
    assert reward([Type("a"), Type("a"), Press("x")], ref) == 1.0


def test_empty_window_and_bad_settings():
    assert reward([Type("a")], []) == 0.0
    with pytest.raises(ValueError):
        reward([], [Done()], gamma=1.5)
    with pytest.raises(ValueError):
        reward([], [Done()], lambda_rep=-1)


# --- batch == reference ---------------------------------------------------------------

WORDS = ["alice", "bob", "the red car", "21", "21.0", "Search", "cats and dogs", ""]


def random_action(rng: random.Random, near=None):
    if near is not None and rng.random() < 0.5:  # forecasts resemble their reference
        if isinstance(near, Click) and rng.random() < 0.5:
            return Click(min(1000, near.x + rng.randint(0, 30)), near.y, near.target)
        return near
    kind = rng.randrange(8)
    word = rng.choice(WORDS)
    box = Box(rng.randint(0, 500), rng.randint(0, 500), rng.randint(500, 1000), 1000)
    return [
        lambda: Click(rng.randint(0, 1000), rng.randint(0, 1000), box=rng.choice([None, box])),
        lambda: Type(word, box=rng.choice([None, box])),
        lambda: Press(rng.choice(["enter", "Enter", "tab", "Return"])),
        lambda: Scroll(rng.choice(["up", "down"])),
        lambda: Select(word),
        lambda: Tool.of(rng.choice(["calc", "search"]), {"q": word, "n": rng.choice([2, 2.0])}),
        lambda: Answer(word),
        Done,
    ][kind]()


def random_case(rng: random.Random):
    ref = [random_action(rng) for _ in range(rng.randint(0, 8))]
    pred = [random_action(rng, ref[k] if k < len(ref) else None) for k in range(rng.randint(0, 9))]
    if rng.random() < 0.2:  # click loops
        pred += [Click(10, 10), Click(15, 12)]
    return pred, ref


@pytest.mark.parametrize("horizon", [None, 1, 5])
@pytest.mark.parametrize("gamma", [0.0, 0.7, 1.0])
def test_batch_equals_reference_on_random_data(horizon, gamma):
    rng = random.Random(f"{horizon}-{gamma}")
    cases = [random_case(rng) for _ in range(400)]
    preds, refs = [c[0] for c in cases], [c[1] for c in cases]
    kw = {"gamma": gamma, "lambda_align": 1.0, "lambda_rep": 0.3, "horizon": horizon}
    batch = trajectory_rewards(preds, refs, **kw)
    plain = [trajectory_reward(p, r, **kw) for p, r in cases]
    assert batch == pytest.approx(plain, abs=1e-9, rel=0)
    assert isinstance(batch, list) and len(batch) == len(cases)


def test_batch_edge_cases():
    kw = {"gamma": 0.5, **W}
    assert trajectory_rewards([], [], **kw) == []
    assert trajectory_rewards([[]], [[]], **kw) == [0.0]
    with pytest.raises(ValueError):
        trajectory_rewards([[]], [], **kw)
