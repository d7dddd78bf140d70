"""Stage-2 grounded rewards: 1 when what the frozen tool agent *executed* hits the reference.

`grounded_score` and its parts (`grounded_gui`, `grounded_tool`) are pure functions over
plain data, so Stage-2 training and evaluation can execute an action however they like
(environment, executor, cached feedback) and score it here. `GroundedExecutionReward` is
the one that executes: trl's reward signature over the feedback dataset's columns.

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
>>> grounded_score({"point": [50, 60]}, Click(55, 55, box=Box(40, 40, 70, 70)))
1.0
>>> grounded_score({"point": [50, 60], "text": "Alice "}, Type("alice", box=Box(40, 40, 70, 70)))
1.0
>>> grounded_score({"tool": "calc", "args": {}, "output": "42.0", "ok": True}, "42")
1.0
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tracer1.actions import (
    GUI_ACTIONS,
    Action,
    Answer,
    Box,
    Click,
    Done,
    ParseError,
    Press,
    Scroll,
    Select,
    Tool,
    Type,
    format_action,
    parse_action,
    parse_plan,
)
from tracer1.rewards.similarity import SAME_POINT
from tracer1.rewards.text import answers_match, normalize_key
from tracer1.rewards.wrappers import completion_text

GuiExecution = Mapping[str, Any]
ToolExecution = Mapping[str, Any]
_GroundFn = Callable[[GuiExecution, Any], bool]
_GROUNDERS: dict[type, _GroundFn] = {}


def _grounds(*types: type) -> Callable[[_GroundFn], _GroundFn]:
    def deco(fn: _GroundFn) -> _GroundFn:
        _GROUNDERS.update(dict.fromkeys(types, fn))
        return fn

    return deco


def grounded_score(executed: Any, reference: Action | str) -> float:
    """Score what the environment executed (`info`) against a grounded reference.

    A string reference (the expert's tool output, or the task's answer) is matched
    against the executed tool's output, or against the planner's answer text when it
    answered (`{"answer": ...}` info); an action reference goes to `grounded_gui`.

    >>> grounded_score({"tool": "calculator", "args": {}, "output": "364", "ok": True}, "364")
    1.0
    >>> grounded_score({"answer": "364", "correct": True}, "364")
    1.0
    >>> grounded_score({"answer": None, "correct": False}, "364")
    0.0
    """
    if isinstance(reference, str):
        if isinstance(executed, dict) and "answer" in executed and "tool" not in executed:
            answer = executed.get("answer")
            return grounded_tool(answer, reference) if isinstance(answer, str) else 0.0
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


# ------------------------------------------------- executing a forecast (trl)

SCORE_CACHE = 65_536  # (state, action) scores kept; a feedback set has a few thousand states


def reference_of(action: Action, box: Any, text: str | None) -> Action | str:
    """The grounded reference of one row: its text when set, else the action with its box."""
    if text is not None:
        return text
    if box is not None and isinstance(action, GUI_ACTIONS):
        return dataclasses.replace(action, box=Box.from_list(box))
    return action


class GroundedExecutionReward:
    """Stage-2 binary reward with trl's signature: execute the first forecast action, score it.

    Dataset columns read (one value per completion): `suite`, `family`, `seed`,
    `difficulty`, `history` (canonical action strings), `reference_action`,
    `reference_box`, `reference_text`. An unparseable or empty plan scores 0.0.

    A group's G completions share a state, and identical first actions share one
    execution: scores are cached per (state, action), so the replay runs once per
    distinct action of a state, not once per sample. (A restored environment cannot be
    reused for a second, different action: the first one changed its state.) Suites and
    tasks are cached too. A callable class, not a closure, so it pickles; the caches
    are dropped when pickled.

    >>> reward = GroundedExecutionReward()
    >>> reward.__name__
    'grounded_reward'
    """

    def __init__(self, cache_size: int = SCORE_CACHE,
                 suite_options: dict[str, dict[str, Any]] | None = None):
        self.__name__ = "grounded_reward"
        self._cache_size = cache_size
        # Plain data (the suites' constructor arguments), so the reward still pickles.
        self._suite_options = dict(suite_options or {})
        self._init_caches()

    def _init_caches(self) -> None:
        self._suites: dict[str, Any] = {}
        self._tasks: dict[tuple, Any] = {}
        self._scores: OrderedDict[tuple, float] = OrderedDict()
        self.executions = 0  # replays actually run (a test and the logs read it)

    def __getstate__(self) -> dict[str, Any]:
        return {"__name__": self.__name__, "_cache_size": self._cache_size,
                "_suite_options": self._suite_options}

    def close(self) -> None:
        """Free the suites' resources (a GUI suite's browsers)."""
        from tracer1.envs.base import close_suite

        for suite in self._suites.values():
            close_suite(suite)
        self._suites.clear()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        *,
        suite: Sequence[str] = (),
        family: Sequence[str] = (),
        seed: Sequence[int] = (),
        difficulty: Sequence[int] = (),
        history: Sequence[Sequence[str]] = (),
        reference_action: Sequence[str] = (),
        reference_box: Sequence[Any] | None = None,
        reference_text: Sequence[str | None] | None = None,
        **_: Any,
    ) -> list[float | None]:
        n = len(completions)
        columns = {"suite": suite, "family": family, "seed": seed, "difficulty": difficulty,
                   "history": history, "reference_action": reference_action}
        for name, values in columns.items():
            if len(values) != n:  # a wiring bug, not model output: fail loudly
                raise ValueError(f"{self.__name__} needs the dataset column `{name}` "
                                 f"(one per completion); got {len(values)} for {n} completions")
        boxes = reference_box if reference_box is not None else [None] * n
        texts = reference_text if reference_text is not None else [None] * n
        out: list[float | None] = []
        for i, completion in enumerate(completions):
            actions = parse_plan(completion_text(completion)).actions
            if not actions:
                out.append(0.0)
                continue
            state = (suite[i], family[i], int(seed[i]), int(difficulty[i]), tuple(history[i]))
            box = tuple(boxes[i]) if boxes[i] is not None else None  # hashable for the cache
            ref_key = (reference_action[i], box, texts[i])
            out.append(self._score(state, actions[0], ref_key))
        return out

    def _score(self, state: tuple, action: Action, ref_key: tuple) -> float:
        key = (state, format_action(action), ref_key)
        if key in self._scores:
            self._scores.move_to_end(key)
            return self._scores[key]
        score = self._execute(state, action, ref_key)
        self._scores[key] = score
        if len(self._scores) > self._cache_size:
            self._scores.popitem(last=False)
        return score

    def _execute(self, state: tuple, action: Action, ref_key: tuple) -> float:
        from tracer1.envs.base import get_suite, restore

        suite_name, family, seed, difficulty, history = state
        ref_text, ref_box, text = ref_key
        reference = reference_of(recorded_action(ref_text, "reference_action"), ref_box, text)
        if suite_name not in self._suites:
            self._suites[suite_name] = get_suite(suite_name,
                                                 **self._suite_options.get(suite_name, {}))
        suite = self._suites[suite_name]
        task_key = (suite_name, family, seed, difficulty)
        if task_key not in self._tasks:
            self._tasks[task_key] = suite.make_task(family, seed, difficulty)
        replay = [recorded_action(text, "history") for text in history]
        env, _ = restore(suite, self._tasks[task_key], replay)
        self.executions += 1
        try:
            _, _, _, info = env.step(action)
        finally:
            env.close()
        return grounded_score(info, reference)


def recorded_action(text: str, column: str) -> Action:
    """An action recorded by `collect_feedback` (canonical text); malformed is a data bug."""
    action = parse_action(text)
    if isinstance(action, ParseError):  # recorded data, not model output
        raise ValueError(f"feedback column {column}: {text!r}: {action.message}")
    return action
