"""The closed-loop runner: forecast T actions, execute the first, observe, re-forecast.

This is TraceR1's model-predictive inference, shared by `collect_feedback` (the
Stage-1 planner's own state distribution) and `evaluate` (closed-loop success).
All active episodes advance in lockstep, so each step is *one* batched
`planner.plan` call: a real model generates a batch about as fast as one prompt.

Decisions that the metrics depend on:

* The executed action is the first action `parse_plan` returns. A forecast with
  no parsable action (garbage, an empty or missing `<plan>`) is an **invalid
  action**: it is recorded, the environment is *not* stepped (the state stays
  the same), and it still consumes one step of the budget, so a planner that
  never produces an action runs out of steps and fails.
* Each request carries the *full* history of executed actions; the prompt shows
  only the last K (`PlanRequest.prompt` trims), and nothing is lost for callers
  that need the whole history (feedback replay, the expert test double).
* A step *repeats* when its executed action is the same (`rewards.same_action`)
  as an earlier executed action of the episode: the click/tool-call loop that
  the Stage-1 repetition penalty fights.
* Success mirrors `build_dataset`: the episode ended with a positive environment
  reward (tool use: a correct `answer()`; a GUI page: the page's own check).
* A planner that `sees_screenshots` (a VLM agent) gets the live screen in every
  request (`PlanRequest.screenshot`, PNG bytes) from environments that render one
  (`env.screenshot()`, e.g. MiniWoB); elsewhere (tool use) its requests carry none.

>>> from tracer1.envs import get_suite
>>> from tracer1.actions import Answer, format_plan
>>> class Answers42:  # a planner that answers at once
...     horizon, history = 1, 0
...     def plan(self, requests, *, sample=False, num=1):
...         return [[format_plan([Answer("42")])] * num for _ in requests]
>>> suite = get_suite("tooluse")
>>> [trace] = run_episodes(Answers42(), suite, [suite.make_task("mixed", 1, 1)], max_steps=3)
>>> trace.steps, trace.success, trace.invalid
(1, False, 0)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracer1.actions import Action, Parsed, parse_plan
from tracer1.envs.base import Environment, Expert, Suite, episode_limit, restore, suite_trait
from tracer1.policy.base import Planner, PlanRequest
from tracer1.progress import reporter
from tracer1.rewards.similarity import same_action
from tracer1.trajectory import Observation, Step, Task


@dataclass(frozen=True)
class StateRecord:
    """One visited state: what the planner saw and said, what executed, the expert's view."""

    index: int
    """0-based step of the episode (invalid steps count: they consume the budget)."""
    request: PlanRequest
    """The planner's input; `request.history` is every action executed before this state."""
    forecast: str
    """The raw planner text."""
    parsed: Parsed
    executed: dict[str, Any] | None
    """The environment's info for the executed first action; None when the forecast was invalid."""
    reward: float = 0.0
    done: bool = False
    repeated: bool = False
    """The executed action repeats an earlier executed action of the episode."""
    reference: Action | None = None
    """The expert's action from this state (when an expert was given)."""
    reference_executed: dict[str, Any] | None = None
    """The environment's info for `reference` executed from this state (in a scratch copy)."""

    @property
    def action(self) -> Action | None:
        """The executed action: the forecast's first parsed action, or None (invalid)."""
        return self.parsed.actions[0] if self.parsed.actions else None

    @property
    def invalid(self) -> bool:
        return self.action is None


@dataclass(frozen=True)
class EpisodeTrace:
    """One closed-loop episode of a planner on a task."""

    task: Task
    states: tuple[StateRecord, ...]
    success: bool

    @property
    def steps(self) -> int:
        """Steps of the budget used (invalid forecasts included)."""
        return len(self.states)

    @property
    def invalid(self) -> int:
        return sum(s.invalid for s in self.states)

    @property
    def repetitions(self) -> int:
        return sum(s.repeated for s in self.states)

    @property
    def actions(self) -> tuple[Action, ...]:
        """Every action executed in the environment, in order."""
        return tuple(s.action for s in self.states if s.action is not None)


@dataclass
class _Live:
    """The mutable state of one running episode (private to the runner)."""

    task: Task
    env: Environment
    observation: Observation
    capture: bool = False
    """Capture the live screen into each request (the planner sees screenshots)."""
    budget: int = 0
    """Planner steps this episode may take (invalid forecasts count: they cost a step)."""
    history: list[Step] = field(default_factory=list)
    states: list[StateRecord] = field(default_factory=list)
    done: bool = False
    success: bool = False

    def request(self) -> PlanRequest:
        return PlanRequest(
            self.task.instruction, self.observation, tuple(s.action for s in self.history),
            screenshot=self.env.screenshot() if self.capture else None,
        )

    def advance(self, request: PlanRequest, text: str, suite: Suite, expert: Expert | None) -> None:
        """Record the state `request` was made from, then execute the forecast's first action."""
        reference, reference_info = None, None
        if expert is not None:
            # Asked before the planner's action changes the state.
            reference = expert.act(self.task, self.observation, list(self.history))
            reference_info = execute_from(suite, self.task, request.history, reference)
        parsed = parse_plan(text)
        action = parsed.actions[0] if parsed.actions else None
        executed, reward, repeated = None, 0.0, False
        if action is not None:  # an invalid forecast leaves the environment untouched
            repeated = any(same_action(s.action, action) for s in self.history)
            next_obs, reward, done, info = self.env.step(action)
            executed, reward = dict(info), float(reward)
            self.history.append(Step(len(self.history), self.observation, action,
                                     executed=dict(info), reward=reward))
            self.observation, self.done = next_obs, bool(done)
            self.success = self.done and reward > 0
        self.states.append(StateRecord(
            index=len(self.states), request=request, forecast=text, parsed=parsed,
            executed=executed, reward=reward, done=self.done, repeated=repeated,
            reference=reference, reference_executed=reference_info,
        ))

    def trace(self) -> EpisodeTrace:
        return EpisodeTrace(self.task, tuple(self.states), self.success)

    def running(self, streak: int | None) -> bool:
        """Still playing: not done, budget left, not stuck (see `stuck`)."""
        return not self.done and len(self.states) < self.budget and not self.stuck(streak)

    def stuck(self, streak: int | None) -> bool:
        """The last `streak` forecasts were all invalid (None: never stuck)."""
        return (streak is not None and len(self.states) >= streak
                and all(s.invalid for s in self.states[-streak:]))


def _start(suite: Suite, task: Task, budget: int, screenshots: bool = False) -> _Live:
    env = suite.make_env()
    try:
        capture = screenshots and callable(getattr(env, "screenshot", None))
        return _Live(task, env, env.reset(task), capture=capture, budget=budget)
    except BaseException:
        env.close()
        raise


def execute_from(
    suite: Suite, task: Task, history: Sequence[Action], action: Action
) -> dict[str, Any]:
    """The info of `action` executed in a scratch environment replayed to after `history`."""
    env, _ = restore(suite, task, history)
    try:
        return dict(env.step(action)[3])
    finally:
        env.close()


def _chunks(items: Sequence[Task], size: int | None) -> Iterator[Sequence[Task]]:
    size = size or max(1, len(items))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _forecast_texts(
    planner: Planner, requests: list[PlanRequest], sample: bool
) -> list[str]:
    outputs = planner.plan(requests, sample=sample, num=1)
    if len(outputs) != len(requests) or any(len(out) < 1 for out in outputs):
        raise ValueError(
            f"planner returned {len(outputs)} forecast lists for {len(requests)} requests"
        )
    texts = [out[0] for out in outputs]
    for text in texts:
        if not isinstance(text, str):  # a planner bug, not bad model output: fail loudly
            raise TypeError(f"planner returned a {type(text).__name__}, not a str")
    return texts


def run_episodes(
    planner: Planner,
    suite: Suite,
    tasks: Sequence[Task],
    *,
    max_steps: int,
    sample: bool = False,
    expert: Expert | None = None,
    batch_size: int | None = None,
    stop_after_invalid: int | None = None,
    progress: str | None = None,
) -> list[EpisodeTrace]:
    """Run `planner` closed-loop on every task; one trace per task, in the order of `tasks`.

    Episodes run in lockstep groups of at most `batch_size` (when None: the suite's
    `max_parallel`, else all at once):
    one `planner.plan` call per step of a group, over the group's still-running
    episodes. A planner that `sees_screenshots` gets each live screen in its requests.
    An episode takes at most `max_steps` planner steps, fewer where the suite bounds its
    task's difficulty (`step_limits`): an unparseable forecast never reaches the
    environment's own bound, so it is applied here too.
    With `expert`, every state also records the expert's action and what
    it executes from there (replayed in a scratch environment, the real one is not
    touched). Every environment is closed, also on error.
    `stop_after_invalid`: an episode whose last that many forecasts were all invalid ends
    there, failed (a planner that cannot write an action only burns its budget; the
    zero-shot base model does so on every task). None: it runs out its budget.
    `progress`: a label to report finished episodes under (`tracer1.progress`: i/N,
    rate, ETA); None reports nothing.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if stop_after_invalid is not None and stop_after_invalid < 1:
        raise ValueError(f"stop_after_invalid must be >= 1, got {stop_after_invalid}")
    # A suite that holds a browser per live episode bounds the group size.
    batch_size = batch_size or suite_trait(suite, "max_parallel")
    screenshots = bool(getattr(planner, "sees_screenshots", False))
    limits = suite_trait(suite, "step_limits") or {}
    traces: list[EpisodeTrace] = []
    # Called every lockstep step; `Progress` throttles the lines (an unchanged count
    # still shows once per interval: the loop is alive, a step is just slow).
    report = reporter(progress, len(tasks), "episodes")
    for group in _chunks(tasks, batch_size):
        lives: list[_Live] = []
        try:
            for task in group:
                budget = episode_limit(limits, task.difficulty, max_steps)
                lives.append(_start(suite, task, budget, screenshots))
            for _ in range(max_steps):
                active = [live for live in lives if live.running(stop_after_invalid)]
                # Episodes of one group end at different steps: count each as it ends.
                report(len(traces) + len(lives) - len(active))
                if not active:
                    break
                requests = [live.request() for live in active]
                texts = _forecast_texts(planner, requests, sample)
                for live, request, text in zip(active, requests, texts, strict=True):
                    live.advance(request, text, suite, expert)
        finally:
            for live in lives:
                live.env.close()
        traces.extend(live.trace() for live in lives)
        report(len(traces))
    return traces


__all__ = ["EpisodeTrace", "StateRecord", "execute_from", "run_episodes"]
