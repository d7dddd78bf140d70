"""sim(pred, ref): one action against one action, per type."""

from __future__ import annotations

import pytest

from tracer1.actions import Answer, Box, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.rewards import CLICK_SCALE, normalize_key, same_action, similarity
from tracer1.rewards.similarity import _SIMILARITY

ALL = [
    Click(10, 10),
    Type("a"),
    Press("enter"),
    Scroll("down"),
    Select("a"),
    Tool.of("t"),
    Answer("a"),
    Done(),
]


def test_every_action_type_has_a_scorer():
    assert set(_SIMILARITY) == {type(a) for a in ALL}


@pytest.mark.parametrize("pred", ALL)
@pytest.mark.parametrize("ref", ALL)
def test_different_types_score_zero_and_same_action_scores_one(pred, ref):
    assert similarity(pred, ref) == (1.0 if pred == ref else 0.0)


def test_click_inside_the_box_is_full_credit_even_far_from_the_centre():
    ref = Click(500, 500, box=Box(300, 450, 700, 550))
    assert similarity(Click(690, 545), ref) == 1.0
    assert similarity(Click(300, 450), ref) == 1.0  # edges are inside


def test_click_outside_the_box_decays_with_distance():
    ref = Click(500, 500, box=Box(490, 490, 510, 510))
    assert similarity(Click(500, 570), ref) == pytest.approx(0.5)
    assert similarity(Click(500 + 84, 500 + 112), ref) == pytest.approx(0.0)  # 140 away
    assert similarity(Click(0, 0), ref) == 0.0  # clamped, never negative


def test_click_without_box_uses_distance_only():
    assert similarity(Click(100, 100), Click(100, 100)) == 1.0
    assert similarity(Click(130, 140), Click(100, 100)) == pytest.approx(1 - 50 / CLICK_SCALE)


def test_text_actions_use_token_f1_of_normalised_text():
    assert similarity(Type("The Red  car!"), Type("red car")) == 1.0
    assert similarity(Type("red car"), Type("the red cars")) == pytest.approx(0.5)
    assert similarity(Answer("21.0"), Answer("21")) == 1.0
    assert similarity(Select("May 2024"), Select("june 2024")) == pytest.approx(0.5)
    assert similarity(Type("x", target="A"), Type("x", target="B")) == 1.0  # target unscored


def test_press_keys_are_case_insensitive_with_aliases():
    assert similarity(Press("Enter"), Press("enter")) == 1.0
    assert similarity(Press("Return"), Press("ENTER")) == 1.0
    assert similarity(Press("ArrowDown"), Press("down")) == 1.0
    assert similarity(Press("tab"), Press("enter")) == 0.0
    assert normalize_key("Control+Shift+a") == "ctrl+shift+a"


def test_scroll_is_exact_direction():
    assert similarity(Scroll("up", target="list"), Scroll("up")) == 1.0
    assert similarity(Scroll("up"), Scroll("down")) == 0.0


def test_tool_is_name_match_times_argument_f1():
    ref = Tool.of("search", {"q": "cats", "n": 2})
    assert similarity(Tool.of("search", {"n": 2.0, "q": "Cats"}), ref) == 1.0
    assert similarity(Tool.of("search", {"n": "2", "q": "cats"}), ref) == 1.0
    assert similarity(Tool.of("search", {"q": "cats"}), ref) == pytest.approx(2 / 3)
    assert similarity(Tool.of("search", {"q": "dogs", "n": 3}), ref) == 0.0
    assert similarity(Tool.of("browse", {"q": "cats", "n": 2}), ref) == 0.0
    assert similarity(Tool.of("calc"), Tool.of("calc")) == 1.0  # no args on either side
    assert similarity(Tool.of("calc", {"x": True}), Tool.of("calc", {"x": "true"})) == 1.0


def test_similarity_is_bounded():
    for pred in ALL:
        for ref in ALL:
            assert 0.0 <= similarity(pred, ref) <= 1.0


def test_same_action_for_repetition():
    assert same_action(Click(10, 10, target="a"), Click(22, 26, target="b"))  # exactly 20 away
    assert not same_action(Click(10, 10), Click(10, 31))
    assert same_action(Type("a"), Type("a"))
    assert not same_action(Type("a"), Select("a"))
    assert not same_action(Type("a", target="x"), Type("a", target="y"))
