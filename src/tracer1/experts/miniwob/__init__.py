"""Scripted MiniWoB experts: read the DOM elements of the observation, act from any state.

One function per task page, registered with `@expert_for("click-button")`; the suite's
families are exactly the pages with an expert. An expert sees what the planner sees
(the observation's elements, the instruction) plus the page's task fields
(`task.spec["fields"]`, MiniWoB's parsed instruction), and returns the next action
with the target element's description and box, so the grounding executor and the
grounded reward can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tracer1.actions import Action
from tracer1.trajectory import Observation, Step, Task

ExpertFn = Callable[[Task, Observation, Sequence[Step]], Action]
_EXPERTS: dict[str, ExpertFn] = {}


def expert_for(family: str) -> Callable[[ExpertFn], ExpertFn]:
    def deco(fn: ExpertFn) -> ExpertFn:
        if family in _EXPERTS and _EXPERTS[family] is not fn:
            raise ValueError(f"two experts for MiniWoB task {family!r}")
        _EXPERTS[family] = fn
        return fn

    return deco


def expert_families() -> list[str]:
    _load()
    return sorted(_EXPERTS)


class MiniWoBExpert:
    """The Expert protocol over the per-page experts."""

    def act(self, task: Task, observation: Observation, history: Sequence[Step]) -> Action:
        _load()
        try:
            fn = _EXPERTS[task.family]
        except KeyError:
            raise KeyError(f"no MiniWoB expert for {task.family!r} "
                           f"(known: {', '.join(sorted(_EXPERTS))})") from None
        return fn(task, observation, history)


def _load() -> None:
    # The task modules register themselves on import.
    from tracer1.experts.miniwob import tasks  # noqa: F401


__all__ = ["ExpertFn", "MiniWoBExpert", "expert_families", "expert_for"]
