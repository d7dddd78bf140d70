"""Test doubles for the `Planner` protocol, all driving the *real* tool-use suite.

* `ExpertPlanner` - the suite's scripted expert as a planner: from the request's
  state it forecasts the expert's next T actions (simulated in a scratch
  environment), padded with `done()`. A perfect anticipatory planner.
* `GarbagePlanner` - text with no `<plan>` block: every forecast is invalid.
* `RepeatPlanner` - the same tool call every time: a click-loop stand-in.
* `NoisyPlanner` - the expert with probability p, else garbage (seeded).

Every double records the size of each `plan` call in `calls`, so tests can check
that the runner batches its requests.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from tracer1.actions import Action, Done, Tool, format_plan
from tracer1.envs.base import Suite
from tracer1.policy.base import PlanRequest
from tracer1.trajectory import Step, Task

GARBAGE = "I am not sure what to do here, maybe call a tool?"


class _Recording:
    """Shared `plan` plumbing: record the batch size, one forecast per request, `num` copies."""

    horizon: int
    history: int

    def __init__(self, horizon: int, history: int):
        self.horizon, self.history = horizon, history
        self.calls: list[int] = []
        self.sampled: list[bool] = []

    def plan(
        self, requests: Sequence[PlanRequest], *, sample: bool = False, num: int = 1
    ) -> list[list[str]]:
        self.calls.append(len(requests))
        self.sampled.append(sample)
        return [[self.forecast(request) for _ in range(num)] for request in requests]

    def forecast(self, request: PlanRequest) -> str:
        raise NotImplementedError


def make_tasks(suite: Suite, seeds: Iterable[int]) -> list[Task]:
    """Every family × `seeds`, difficulty round-robin (1, 2, 3) as `build_dataset` assigns it."""
    return [suite.make_task(family, seed, 1 + seed % 3) for family in suite.families()
            for seed in seeds]


def index_tasks(tasks: Iterable[Task]) -> dict[str, Task]:
    """instruction → task; two tasks with one instruction must be the same question."""
    out: dict[str, Task] = {}
    for task in tasks:
        known = out.setdefault(task.instruction, task)
        if known.spec != task.spec:
            raise ValueError(f"two different tasks share the instruction {task.instruction!r}")
    return out


class ExpertPlanner(_Recording):
    """The scripted expert behind the Planner protocol.

    A request carries only the instruction, the observation and past actions, so
    the task is looked up by instruction, and the state is rebuilt by replaying
    `request.history` in a scratch environment (which also gives the expert the
    executed infos it reads). That needs the *full* history: the replayed
    observation is checked against the request's, so a truncated history fails
    loudly instead of forecasting from the wrong state.
    """

    def __init__(self, suite: Suite, tasks: Iterable[Task], *, horizon: int = 5,
                 history: int = 4):
        super().__init__(horizon, history)
        self.suite = suite
        self.tasks = index_tasks(tasks)
        self.expert = suite.expert()

    def actions(self, request: PlanRequest) -> list[Action]:
        task = self.tasks[request.instruction]
        env = self.suite.make_env()
        try:
            obs, steps, done = env.reset(task), [], False
            for action in request.history:
                next_obs, reward, done, info = env.step(action)
                steps.append(Step(len(steps), obs, action, executed=dict(info), reward=reward))
                obs = next_obs
            if obs != request.observation:
                raise AssertionError("replayed history does not reach the request's observation")
            out: list[Action] = []
            while len(out) < self.horizon and not done:
                action = self.expert.act(task, obs, steps)
                next_obs, reward, done, info = env.step(action)
                steps.append(Step(len(steps), obs, action, executed=dict(info), reward=reward))
                obs = next_obs
                out.append(action)
        finally:
            env.close()
        return out + [Done()] * (self.horizon - len(out))

    def forecast(self, request: PlanRequest) -> str:
        return format_plan(self.actions(request))


class GarbagePlanner(_Recording):
    """Never writes a plan block."""

    def __init__(self, *, horizon: int = 5, history: int = 4):
        super().__init__(horizon, history)

    def forecast(self, request: PlanRequest) -> str:
        return GARBAGE


REPEATED_CALL = Tool.of("calculator", {"expression": "1 + 1"})


class RepeatPlanner(_Recording):
    """Always the same (valid, successful) tool call."""

    def __init__(self, action: Action = REPEATED_CALL, *, horizon: int = 5, history: int = 4):
        super().__init__(horizon, history)
        self.action = action

    def forecast(self, request: PlanRequest) -> str:
        return format_plan([self.action] * self.horizon)


class NoisyPlanner(_Recording):
    """The expert's forecast with probability `p`, else garbage; seeded, so runs repeat."""

    def __init__(self, suite: Suite, tasks: Iterable[Task], p: float, *, seed: int = 0,
                 horizon: int = 5, history: int = 4):
        super().__init__(horizon, history)
        self.p = p
        self.rng = random.Random(seed)
        self.expert = ExpertPlanner(suite, tasks, horizon=horizon, history=history)

    def forecast(self, request: PlanRequest) -> str:
        if self.rng.random() < self.p:
            return self.expert.forecast(request)
        return GARBAGE


__all__ = [
    "GARBAGE",
    "REPEATED_CALL",
    "ExpertPlanner",
    "GarbagePlanner",
    "NoisyPlanner",
    "RepeatPlanner",
    "index_tasks",
    "make_tasks",
]
