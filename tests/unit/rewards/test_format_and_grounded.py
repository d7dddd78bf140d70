"""The format reward rule and the Stage-2 grounded (binary) rewards."""

from __future__ import annotations

import pytest

from tracer1.actions import (
    MAX_PLAN_CHARS,
    Answer,
    Box,
    Click,
    Done,
    Press,
    Scroll,
    Select,
    Tool,
    Type,
    format_plan,
)
from tracer1.rewards import format_reward, grounded_gui, grounded_score, grounded_tool

# --- format -------------------------------------------------------------------------


def test_exactly_horizon_actions_is_well_formed():
    text = "Let me think.\n" + format_plan([Click(1, 2), Type("a"), Press("enter")])
    assert format_reward(text, horizon=3) == 1.0


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([Click(1, 2), Done()], 1.0),  # ends early with done()
        ([Answer("4")], 1.0),  # ends early with answer()
        ([Click(1, 2)], 0.0),  # too short, not terminal
        ([Click(1, 2)] * 4, 0.0),  # too long
        ([], 0.0),  # an empty plan is not a forecast
    ],
)
def test_length_rule(actions, expected):
    assert format_reward(format_plan(actions), horizon=3) == expected


@pytest.mark.parametrize(
    "text",
    [
        "click(x=1, y=2)\ndone()",  # no block
        "<plan>\ndone()\n",  # not closed
        "<plan>\nclick(x=1, y=2)\nclik()\ndone()\n</plan>",  # one bad line
        "<plan>\ndone()\n</plan><plan>\ndone()\n</plan>",  # two blocks
        "<plan>\ndone()\n</plan>" + " " * MAX_PLAN_CHARS,  # oversized
    ],
)
def test_any_parse_error_scores_zero(text):
    assert format_reward(text, horizon=1) == 0.0


def test_format_reward_tolerates_any_input_but_rejects_bad_horizon():
    assert format_reward(None, horizon=2) == 0.0  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_reward("<plan>\n</plan>", horizon=0)


# --- grounded: GUI --------------------------------------------------------------------

BOX = Box(100, 100, 200, 150)


def test_click_hits_the_reference_box():
    ref = Click(150, 125, box=BOX)
    assert grounded_gui({"point": [199, 101], "element": "e7"}, ref) == 1.0
    assert grounded_gui({"point": [201, 125]}, ref) == 0.0
    assert grounded_gui({"point": None}, ref) == 0.0
    assert grounded_gui({}, ref) == 0.0


def test_click_without_box_needs_to_land_near_the_point():
    assert grounded_gui({"point": (160, 135)}, Click(150, 125)) == 1.0
    assert grounded_gui({"point": (180, 125)}, Click(150, 125)) == 0.0


def test_type_needs_the_box_and_the_text():
    ref = Type("Alice Smith", box=BOX)
    assert grounded_gui({"point": [150, 120], "text": "alice smith"}, ref) == 1.0
    assert grounded_gui({"point": [150, 120], "text": "bob"}, ref) == 0.0
    assert grounded_gui({"point": [50, 50], "text": "Alice Smith"}, ref) == 0.0
    assert grounded_gui({"text": "Alice Smith"}, Type("alice smith")) == 1.0  # focused field


def test_select_press_scroll_answer_done():
    assert grounded_gui({"point": [150, 120], "text": "June"}, Select("june", box=BOX)) == 1.0
    assert grounded_gui({"key": "Return"}, Press("enter")) == 1.0
    assert grounded_gui({"key": "tab"}, Press("enter")) == 0.0
    assert grounded_gui({"direction": "down"}, Scroll("down")) == 1.0
    assert grounded_gui({"point": [1, 1], "direction": "down"}, Scroll("down", box=BOX)) == 0.0
    assert grounded_gui({"text": "21.0"}, Answer("21")) == 1.0
    assert grounded_gui({"verb": "done"}, Done()) == 1.0
    assert grounded_gui({}, Done()) == 0.0


def test_executed_verb_must_match_when_reported():
    ref = Click(150, 125, box=BOX)
    assert grounded_gui({"verb": "type", "point": [150, 125]}, ref) == 0.0
    assert grounded_gui({"verb": "click", "point": [150, 125]}, ref) == 1.0


@pytest.mark.parametrize("junk", [None, "text", 3, {"point": "nope"}, {"point": [1]}])
def test_malformed_executions_score_zero(junk):
    assert grounded_gui(junk, Click(1, 1, box=BOX)) == 0.0


# --- grounded: tools --------------------------------------------------------------------


def test_tool_output_matches_reference_answer():
    executed = {"tool": "calculator", "args": {"expression": "6*7"}, "output": "42.0", "ok": True}
    assert grounded_tool(executed, "42") == 1.0
    assert grounded_tool({**executed, "output": "41"}, "42") == 0.0
    assert grounded_tool({**executed, "ok": False}, "42") == 0.0
    assert grounded_tool({"ok": True, "output": None}, "42") == 0.0


def test_final_answer_text_matches_reference():
    assert grounded_tool("The answer is 1,234", "answer is 1234") == 1.0
    assert grounded_tool("Paris", "paris") == 1.0
    assert grounded_tool("Lyon", "paris") == 0.0


def test_dispatch_on_the_reference():
    assert grounded_score({"output": "7", "ok": True}, "7") == 1.0
    assert grounded_score({"point": [150, 125]}, Click(0, 0, box=BOX)) == 1.0
    executed = {"tool": "calc", "args": {"x": 1}}
    assert grounded_score(executed, Tool.of("calc", {"x": 1})) == 1.0
    assert grounded_score(executed, Tool.of("calc", {"x": 2})) == 0.0
