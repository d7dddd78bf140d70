"""Stage-2 grounded rewards: 1 when what the frozen tool agent *executed* hits the reference.

Pure functions over plain data, so Stage-2 training and evaluation can execute an
action however they like (environment, executor, cached feedback) and score it here.

What `executed` holds (the environment's `info` for the step):

* GUI (`GuiExecution`): ``{"point": [x, y] | None, "element": ref | None,
  "text": typed/selected text | None, "key": pressed key | None,
  "direction": scroll direction | None, "verb": executed verb | None}``;
  missing keys mean None.
* tool (`ToolExecution`): ``{"tool": name, "args": {...}, "output": str, "ok": bool}``,
  or the final answer's text when the planner answered instead of calling a tool.

The reference is the expert's action with its target `box` (GUI) or the expert's
executed output / final answer string (tool).

>>> from tracer1.actions import Box, Click, Type
>>> grounded_reward({"point": [50, 60]}, Click(55, 55, box=Box(40, 40, 70, 70)))
1.0
>>> grounded_reward({"point": [50, 60], "text": "Alice "}, Type("alice", box=Box(40, 40, 70, 70)))
1.0
>>> grounded_reward({"tool": "calc", "args": {}, "output": "42.0", "ok": True}, "42")
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tracer1.actions import Action, Answer, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.rewards.similarity import SAME_POINT
from tracer1.rewards.text import answers_match, normalize_key

GuiExecution = Mapping[str, Any]
ToolExecution = Mapping[str, Any]
_GroundFn = Callable[[GuiExecution, Any], bool]
_GROUNDERS: dict[type, _GroundFn] = {}


def _grounds(*types: type) -> Callable[[_GroundFn], _GroundFn]:
    def deco(fn: _GroundFn) -> _GroundFn:
        _GROUNDERS.update(dict.fromkeys(types, fn))
        return fn

    return deco


def grounded_reward(executed: Any, reference: Action | str) -> float:
    """Dispatch on the reference: a string is a tool answer, an action is a GUI target."""
    if isinstance(reference, str):
        return grounded_tool(executed, reference)
    return grounded_gui(executed, reference)


def grounded_gui(executed: GuiExecution, reference: Action) -> float:
    """1.0 when the executed effect lands in the reference's target and the text/key match."""
    if not isinstance(executed, Mapping):
        return 0.0
    verb = executed.get("verb")
    if verb is not None and verb != reference.verb:
        return 0.0
    grounder = _GROUNDERS.get(type(reference))
    return float(grounder is not None and grounder(executed, reference))


def grounded_tool(executed: ToolExecution | str, reference: str) -> float:
    """1.0 when the executed tool output (or the final answer) matches the reference answer."""
    if isinstance(executed, str):
        return float(answers_match(executed, reference))
    if not isinstance(executed, Mapping) or not executed.get("ok"):
        return 0.0
    output = executed.get("output")
    return float(isinstance(output, str) and answers_match(output, reference))


def point_hits(executed: GuiExecution, reference: Click | Type | Scroll | Select) -> bool:
    """The executed point lies in the reference's box; without a box, near its point.

    A reference without a point and box (type/scroll into the focused element) needs
    no point. Without a box a click must land within SAME_POINT grid units.
    """
    point = _point(executed.get("point"))
    if reference.box is not None:
        return point is not None and reference.box.contains(*point)
    if isinstance(reference, Click):
        if point is None:
            return False
        return (point[0] - reference.x) ** 2 + (point[1] - reference.y) ** 2 <= SAME_POINT**2
    return True


def _point(value: Any) -> tuple[float, float] | None:
    try:
        x, y = value
        return float(x), float(y)
    except (TypeError, ValueError):
        return None


def _text_matches(executed: GuiExecution, text: str) -> bool:
    typed = executed.get("text")
    return isinstance(typed, str) and answers_match(typed, text)


@_grounds(Click)
def _click(executed: GuiExecution, reference: Click) -> bool:
    return point_hits(executed, reference)


@_grounds(Type, Select)
def _type(executed: GuiExecution, reference: Type | Select) -> bool:
    return point_hits(executed, reference) and _text_matches(executed, reference.text)


@_grounds(Press)
def _press(executed: GuiExecution, reference: Press) -> bool:
    key = executed.get("key")
    return isinstance(key, str) and normalize_key(key) == normalize_key(reference.key)


@_grounds(Scroll)
def _scroll(executed: GuiExecution, reference: Scroll) -> bool:
    return point_hits(executed, reference) and executed.get("direction") == reference.direction


@_grounds(Answer)
def _answer(executed: GuiExecution, reference: Answer) -> bool:
    return _text_matches(executed, reference.text)


@_grounds(Done)
def _done(executed: GuiExecution, reference: Done) -> bool:
    return executed.get("verb") == "done"


@_grounds(Tool)
def _tool(executed: GuiExecution, reference: Tool) -> bool:
    # A tool *action* as a GUI reference: same tool, same arguments (the output is
    # scored by grounded_tool against the expert's output string instead).
    args = executed.get("args")
    return (
        executed.get("tool") == reference.name
        and isinstance(args, Mapping)
        and dict(args) == reference.kwargs
    )
