"""Benchmark conventions: 14% tap tolerance, step success, GAIA answers, GTA tool accuracy."""

import pytest

from tracer1.actions import Answer, Box, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.data.importers.conventions import (
    click_matches,
    gaia_answers_match,
    gta_answer_matches,
    step_matches,
    step_metrics,
    tool_accuracy,
)


@pytest.mark.parametrize("pred, ref, ok", [
    (Click(500, 500), Click(500, 640), True),     # exactly 14% of the grid
    (Click(500, 500), Click(500, 641), False),
    (Click(500, 500), Click(598, 598), True),     # 138.6 units on the diagonal
    (Click(500, 500), Click(600, 600), False),    # 141.4
    (Click(10, 10), Click(900, 900, box=Box(0, 0, 20, 20)), True),  # inside the box wins
    (Click(300, 300), Click(900, 900, box=Box(0, 0, 20, 20)), False),
])
def test_click_tolerance(pred, ref, ok):
    assert click_matches(pred, ref) is ok


@pytest.mark.parametrize("pred, ref, ok", [
    (Type("New York City"), Type("new york"), True),
    (Type("Boston"), Type("new york"), False),
    (Select("April 12"), Select("april 12"), True),
    (Press("Return"), Press("enter"), True),
    (Scroll("up"), Scroll("down"), False),
    (Tool.of("calc", {"x": "2.0"}), Tool.of("CALC", {"x": 2}), True),
    (Tool.of("calc", {"x": 3}), Tool.of("calc", {"x": 2}), False),
    (Done(), Done(), True),
    (Click(1, 1), Type("a"), False),
    (None, Done(), False),
])
def test_step_matches(pred, ref, ok):
    assert step_matches(pred, ref) is ok


def test_step_metrics_counts():
    pairs = [(Click(500, 500), Click(560, 560)), (Click(0, 0), Click(900, 900)),
             (Type("x"), Click(1, 1)), (Answer("4"), Answer("4"))]
    metrics = step_metrics(pairs)
    assert metrics.action_type_accuracy == 0.75
    assert metrics.grounding_accuracy == 0.5
    assert metrics.step_success_rate == 0.5


@pytest.mark.parametrize("pred, truth, ok", [
    ("17", "17", True), ("17.0", "17", True), ("$1,000", "1000", True), ("12%", "12", True),
    ("seventeen", "17", False), ("St. Petersburg", "saint petersburg", False),
    ("St. Petersburg", "St Petersburg", True), ("Paris, France", "Paris; France", True),
    ("a, b", "a, b, c", False), ("1, 2.50", "1,2.5", True), ("egalitarian ", "Egalitarian", True),
])
def test_gaia_scorer(pred, truth, ok):
    assert gaia_answers_match(pred, truth) is ok


def test_tool_accuracy_and_gta_answers():
    pairs = [(Tool.of("OCR", {"image": "a"}), Tool.of("OCR", {"image": "a"})),
             (Tool.of("OCR", {"image": "b"}), Tool.of("OCR", {"image": "a"})),
             (Answer("x"), Tool.of("Calculator", {"e": "1"})),
             (Answer("x"), Answer("x"))]  # not a tool step: ignored
    metrics = tool_accuracy(pairs)
    assert (metrics.tool_accuracy, metrics.argument_accuracy, metrics.steps) == (2 / 3, 1 / 3, 3)
    gt = {"whitelist": [["140"], ["dollars", "usd"]], "blacklist": [["144"]]}
    assert gta_answer_matches("It is 140 USD", gt) is True
    assert gta_answer_matches("It is 140", gt) is False
    assert gta_answer_matches("140 usd, not 144", gt) is False
    assert gta_answer_matches("anything", None) is None


def test_gta_subjective_references_match_any_and_gaia_withheld_scores_nothing():
    refs = ["Drink water and rest.", "See a doctor if it gets worse."]
    assert gta_answer_matches("You should rest and drink water", refs) is True
    assert gta_answer_matches("Please see a doctor if it gets worse", refs) is True
    assert gta_answer_matches("Buy a new phone", refs) is False
    assert gta_answer_matches("anything", []) is None
    assert gaia_answers_match("?", "?") is None and gaia_answers_match("Paris", " ? ") is None
    assert gaia_answers_match("?", "Paris") is False
