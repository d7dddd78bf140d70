"""Per-page MiniWoB experts (registered on import)."""

from __future__ import annotations

from collections.abc import Sequence

from tracer1.actions import Action, Done
from tracer1.experts.miniwob import expert_for
from tracer1.experts.miniwob.dom import click, find, first
from tracer1.trajectory import Observation, Step, Task


@expert_for("click-button")
def click_button(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    target = task.spec["fields"]["target"]
    button = first(find(obs, text=target, tag="button"))
    return Done() if button is None else click(button)
