"""The scripted tool-use expert: follows the task's canonical plan from any state.

It issues the first planned call whose successful execution is not yet in the
history, then answers. Calls made by anyone (itself or a planner) count, and
wrong, duplicate or failed calls are simply ignored, so the expert gives the
reference action from whatever state a planner left the episode in. Every
argument it writes was printed by an earlier planned call or is in the
instruction, so a planner could have written the same call.

>>> from tracer1.trajectory import Observation, Task
>>> plan = [{"tool": "calculator", "args": {"expression": "6 * 7"}}]
>>> task = Task("t", "tooluse", "demo", 0, "6 times 7?", spec={"plan": plan, "answer": "42"})
>>> ToolUseExpert().act(task, Observation(), [])
Tool(name='calculator', args=(('expression', '6 * 7'),))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tracer1.actions import Action, Answer, Tool
from tracer1.trajectory import Observation, Step, Task

_NUMBER = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def _norm(value: Any) -> Any:
    """Compare arguments as the tools read them: case, spacing and number form do not matter.

    >>> _norm(" 412300 + 98000 ") == _norm("412300+98000"), _norm("71.50") == _norm(71.5)
    (True, True)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    text = "".join(str(value).split()).casefold()
    return float(text) if _NUMBER.match(text) else text


def call_key(tool: Any, args: Any) -> tuple | None:
    """A hashable identity of a call under `_norm`; None when `args` is not a mapping."""
    if not isinstance(args, Mapping):
        return None
    try:
        return (tool, frozenset((k, _norm(v)) for k, v in args.items()))
    except TypeError:  # an unhashable argument value cannot be a planned one
        return None


def same_call(planned: Mapping[str, Any], executed: Mapping[str, Any]) -> bool:
    """Whether an executed call's info (`{"tool", "args", "ok", ...}`) is the planned call."""
    return executed.get("ok") is True and (
        call_key(executed.get("tool"), executed.get("args"))
        == call_key(planned["tool"], planned["args"]))


def succeeded(history: Sequence[Step]) -> set[tuple]:
    """Keys of every call in `history` that executed successfully (by anyone)."""
    keys = set()
    for step in history:
        info = step.executed or {}
        if info.get("ok") is True and "tool" in info:
            key = call_key(info["tool"], info.get("args"))
            if key is not None:
                keys.add(key)
    return keys


def next_call(plan: Sequence[Mapping[str, Any]], history: Sequence[Step]) -> int | None:
    """Index of the first planned call not yet executed successfully, or None when all are."""
    done = succeeded(history)
    for i, planned in enumerate(plan):
        if call_key(planned["tool"], planned["args"]) not in done:
            return i
    return None


class ToolUseExpert:
    """Solves every generated tool-use task; stateless, so one instance serves any episode."""

    def act(self, task: Task, observation: Observation, history: Sequence[Step]) -> Action:
        plan = task.spec["plan"]
        i = next_call(plan, history)
        if i is None:
            return Answer(task.spec["answer"])
        return Tool.of(plan[i]["tool"], plan[i]["args"])
