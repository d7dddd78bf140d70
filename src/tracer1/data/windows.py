"""Forecast windows: an episode → one example per step (prompt at t → the next T actions).

The reference of step t is the expert's actions a*_t … a*_{t+T-1}; positions past
the episode's end are `done()` (the planner should learn that a task ends).

>>> from tracer1.actions import Answer, Tool
>>> from tracer1.trajectory import Episode, Observation, Step
>>> ep = Episode("e", "tooluse", "f", 0, "train", "Add.", (
...     Step(0, Observation(), Tool.of("calculator", {"expression": "2+3"})),
...     Step(1, Observation(text="5"), Answer("5"))), success=True)
>>> [len(w.history) for w in windows(ep, horizon=3, history=4)]
[0, 1]
>>> windows(ep, horizon=3, history=4)[1].reference
(Answer(text='5'), Done(), Done())
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tracer1.actions import Action, Done, format_plan
from tracer1.policy.prompting import render_prompt
from tracer1.trajectory import Episode, Observation


@dataclass(frozen=True)
class Window:
    episode_id: str
    step: int
    instruction: str
    observation: Observation
    history: tuple[Action, ...]
    """The last K actions before step t (oldest first)."""
    reference: tuple[Action, ...]
    """The next T expert actions, padded with done()."""

    def to_record(self) -> dict[str, Any]:
        """A flat row for `datasets`/trl: prompt, reference plan text and the target boxes."""
        horizon = len(self.reference)
        return {
            "episode_id": self.episode_id,
            "step": self.step,
            "prompt": render_prompt(self.instruction, self.observation, self.history, horizon),
            "reference": format_plan(self.reference),
            "reference_boxes": [
                b.to_list() if (b := getattr(a, "box", None)) is not None else None
                for a in self.reference
            ],
        }


def windows(episode: Episode, *, horizon: int, history: int) -> list[Window]:
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    actions = [s.action for s in episode.steps]
    out = []
    for t, step in enumerate(episode.steps):
        ref = actions[t : t + horizon]
        ref += [Done()] * (horizon - len(ref))
        out.append(
            Window(
                episode_id=episode.episode_id,
                step=t,
                instruction=episode.instruction,
                observation=step.observation,
                history=tuple(actions[max(0, t - history) : t]),
                reference=tuple(ref),
            )
        )
    return out


def iter_windows(episodes: Iterable[Episode], *, horizon: int, history: int) -> Iterator[Window]:
    for episode in episodes:
        yield from windows(episode, horizon=horizon, history=history)
