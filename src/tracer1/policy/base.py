"""The planner contract: what every stage that *uses* a policy codes against.

A `Planner` turns a batch of states into raw forecast texts (the `<plan>` block);
callers parse them with `tracer1.actions.parse_plan`, because model output is
untrusted. The trained `Agent` (a causal LM), the registry's pyfunc model and
the test doubles all implement it, so the closed-loop harness, feedback
collection and evaluation never know which one they drive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tracer1.actions import Action
from tracer1.policy.prompting import render_prompt
from tracer1.trajectory import Observation


@dataclass(frozen=True)
class PlanRequest:
    """One state to forecast from: the task instruction, what is seen, the last K actions."""

    instruction: str
    observation: Observation
    history: tuple[Action, ...] = ()
    screenshot: bytes | None = field(default=None, repr=False, compare=False)
    """The live screen as PNG bytes (closed loop, for a planner that `sees_screenshots`);
    a recorded state names its file in `observation.screenshot` instead."""

    def prompt(self, horizon: int, history: int) -> str:
        """The prompt the planner sees (one renderer for training and inference)."""
        past = self.history[-history:] if history else ()
        return render_prompt(self.instruction, self.observation, past, horizon)


@runtime_checkable
class Planner(Protocol):
    """Optionally also `sees_screenshots: bool` — when true, the closed loop captures the
    live screen into each request's `screenshot` (read with `getattr`: test doubles and
    text planners need not declare it)."""

    horizon: int
    """T: actions per forecast."""
    history: int
    """K: past actions shown in the prompt."""

    def plan(
        self, requests: Sequence[PlanRequest], *, sample: bool = False, num: int = 1
    ) -> list[list[str]]:
        """`num` forecast texts per request (greedy when not `sample`); never raises on content."""
        ...


class GenerationBackend(Protocol):
    """The engine under a planner: final prompt texts (rendered and clipped by the agent)
    and their screenshots → `num` decoded completions per prompt, prompt-major. The agent
    cuts them after the plan, so every engine (transformers `generate`, vLLM) feeds the
    same parsing, and the closed loop, feedback and evaluation never know which one runs.
    """

    def generate(self, prompts: list[str], images: list[Any | None], *, sample: bool,
                 num: int, max_new_tokens: int, first_action: bool) -> list[str]:
        ...
