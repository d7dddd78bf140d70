"""MiniWoB's DOM tree → planner elements, and the grid/pixel/key conversions (no browser)."""

from __future__ import annotations

import pytest

from tracer1.actions import Box
from tracer1.envs.miniwob import (
    SCREEN_H,
    SCREEN_W,
    elements_from_dom,
    pressable,
    to_grid,
    to_key,
    to_pixels,
)


def node(ref, tag, left=0.0, top=0.0, width=0.0, height=0.0, text="", children=(), **extra):
    return {"ref": ref, "tag": tag, "left": left, "top": top, "width": width, "height": height,
            "text": text, "children": list(children), **extra}


def page(*children):
    """body > #wrap > #area > children, as `core.getDOMInfo()` returns it."""
    area = node(3, "div", 0, 50, 160, 160, children=children)
    wrap = node(2, "div", 0, 0, 160, 210, children=[area])
    return node(1, "body", 0, 0, 500, 320, children=[wrap])


def test_keeps_text_inputs_and_leaves_drops_empty_containers():
    root = page(
        node(4, "button", 2, 52, 30.8, 21, text=" Submit "),
        node(5, "input_text", 40, 52, 100, 20, value="alice", focused=True),
        node(6, "div", 0, 80, 160, 40, children=[node(7, "span", 5, 85, 30, 10, text="hi")]),
        node(8, "canvas", 10, 130, 20, 20),  # an empty leaf with an area: clickable
        node(9, "div", 40, 130, 20, 20),  # an empty layout box: dropped
    )
    elements, focused = elements_from_dom(root)
    assert [(e.ref, e.tag, e.text) for e in elements] == [
        ("4", "button", "Submit"), ("5", "input_text", "alice"), ("7", "span", "hi"),
        ("8", "canvas", ""),
    ]
    assert elements[0].box == Box(12, 248, 205, 348)
    assert focused == "5"


def test_checkbox_text_is_its_state_and_empty_inputs_stay():
    root = page(node(4, "input_checkbox", 5, 60, 10, 10, value=True),
                node(5, "input_radio", 5, 80, 10, 10, value=False),
                node(6, "input_text", 5, 100, 80, 20, value=""),
                node(7, "textarea", 5, 130, 80, 30))
    elements, focused = elements_from_dom(root)
    assert [(e.ref, e.text) for e in elements] == [
        ("4", "checked"), ("5", "unchecked"), ("6", ""), ("7", "")]
    assert focused is None


def test_drops_invisible_and_offscreen_nodes():
    root = page(node(4, "button", 5, 60, 0, 20, text="zero width"),
                node(5, "button", 5, 60, 20, 0, text="zero height"),
                node(6, "button", SCREEN_W, 60, 20, 20, text="right of the screen"),
                node(7, "button", 5, SCREEN_H, 20, 20, text="below the screen"),
                node(8, "button", 5, 60, 20, 20, text="visible"))
    assert [e.text for e in elements_from_dom(root)[0]] == ["visible"]


def test_focus_on_a_dropped_node_names_nothing():
    root = page(node(4, "button", 5, 60, 20, 20, text="ok"))
    root["focused"] = True  # the body: not an element the planner can see
    assert elements_from_dom(root)[1] is None


def test_empty_tree():
    assert elements_from_dom(node(1, "body")) == ((), None)


@pytest.mark.parametrize(("rect", "box"), [
    ((0, 0, SCREEN_W, SCREEN_H), Box(0, 0, 1000, 1000)),
    ((80, 105, 16, 21), Box(500, 500, 600, 600)),
    ((-10, -10, 20, 20), Box(0, 0, 62, 48)),  # clipped at the top-left
    ((150, 200, 40, 40), Box(938, 952, 1000, 1000)),  # and at the bottom-right
])
def test_to_grid(rect, box):
    assert to_grid(*rect) == box


@pytest.mark.parametrize(("point", "pixels"), [
    ((0, 0), (0.0, 0.0)),
    ((500, 500), (80.0, 105.0)),
    ((1000, 1000), (SCREEN_W - 0.5, SCREEN_H - 0.5)),  # stays on the screen's last pixel
    ((-50, 5000), (0.0, SCREEN_H - 0.5)),
])
def test_to_pixels(point, pixels):
    assert to_pixels(*point) == pixels


def test_grid_and_pixels_round_trip_inside_the_box():
    box = to_grid(30, 60, 40, 20)
    x, y = to_pixels(*box.center)
    assert 30 <= x <= 70 and 60 <= y <= 80


@pytest.mark.parametrize(("key", "webdriver"), [
    ("Enter", "<Enter>"), ("Return", "<Enter>"), ("ArrowDown", "<ArrowDown>"),
    ("down", "<ArrowDown>"), ("Tab", "<Tab>"), ("Esc", "<Escape>"), ("PageDown", "<PageDown>"),
    ("ctrl+a", "C-a"), ("Control+A", "C-a"), ("shift+Tab", "S-<Tab>"),
    ("ctrl+shift+z", "C-S-z"), ("b", "b"), ("7", "7"),
])
def test_to_key(key, webdriver):
    assert to_key(key) == webdriver


@pytest.mark.parametrize(("key", "ok"), [
    ("Enter", True), ("ctrl+a", True), ("shift+Tab", True), ("b", True), ("B", True),
    ("space", True), ("tuefgk", False), ("?icon", False), ("", False), ("ctrl+", False),
])
def test_only_keys_webdriver_can_press_are_pressable(key, ok):
    assert pressable(key) is ok
