"""Contracts of the environment suites: Environment, Expert, Suite, and the suite registry.

An Environment is the frozen tool agents' world: it executes actions and never
imports the policy. A Suite bundles a seeded task generator, an environment
factory and a scripted expert that can act from *any* state (later stages ask
it for the reference action from states the planner visited).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from tracer1.actions import Action
from tracer1.trajectory import Observation, Step, Task

# `info` says what was executed: for a tool call {"tool": name, "args": {...},
# "output": str, "ok": bool}; for GUI {"point": [x, y], "element": ref or None}.
StepResult = tuple[Observation, float, bool, dict[str, Any]]


@runtime_checkable
class Environment(Protocol):
    def reset(self, task: Task) -> Observation: ...

    def step(self, action: Action) -> StepResult: ...

    def close(self) -> None: ...


@runtime_checkable
class Expert(Protocol):
    def act(self, task: Task, observation: Observation, history: Sequence[Step]) -> Action:
        """The expert's next action from the current state.

        `history` is every step executed so far in this episode (by anyone: the
        expert itself or a planner), so the expert can recover from a
        planner's detours.
        """
        ...


@runtime_checkable
class Suite(Protocol):
    """A task generator, an environment factory and an expert.

    Optional attributes, read with `suite_trait` (defaults in `SUITE_TRAITS`):
    `unique_instructions` — an instruction identifies a task, so the same instruction
    in two splits leaks (question pools); False where the same instruction under
    another seed is a different task (GUI pages). `terminal_verbs` — the verbs an
    expert episode must end with (None: any, the page ends the episode itself).
    `max_parallel` — how many episodes may be live at once (None: no limit; a GUI suite
    holds a browser per live episode). `step_limits` — task difficulty → the most steps
    an episode of that difficulty may take (None: the caller's bound for every task).
    `close()` — frees what the suite holds (browsers).
    """

    name: str

    def families(self) -> Sequence[str]: ...

    def make_task(self, family: str, seed: int, difficulty: int) -> Task: ...

    def make_env(self) -> Environment: ...

    def expert(self) -> Expert: ...


_SUITES: dict[str, Callable[..., Suite]] = {}
SUITE_TRAITS: dict[str, Any] = {
    "unique_instructions": True, "terminal_verbs": None, "max_parallel": None,
    "step_limits": None,
}


def suite_trait(suite: Suite | str, trait: str) -> Any:
    """A suite's optional attribute (see `Suite`), by suite object or registered name."""
    if isinstance(suite, str):
        import tracer1.envs  # noqa: F401

        suite = _SUITES.get(suite)
    return getattr(suite, trait, SUITE_TRAITS[trait])


def step_limits_of(limits: Mapping[Any, Any] | None) -> dict[int, int]:
    """A suite's `step_limits` option as ``{difficulty: steps}``; every bound must be >= 1.

    >>> step_limits_of({"1": 6, 2: "8"})
    {1: 6, 2: 8}
    """
    out = {int(k): int(v) for k, v in (limits or {}).items()}
    if any(v < 1 for v in out.values()):
        raise ValueError(f"step_limits must be >= 1, got {out}")
    return out


def episode_limit(limits: Mapping[int, int], difficulty: int, max_steps: int) -> int:
    """The step bound of an episode of `difficulty`: its `step_limits` entry, at most
    `max_steps` (which it is when the difficulty has none).

    >>> episode_limit({1: 6}, 1, 20), episode_limit({1: 6}, 3, 20), episode_limit({1: 30}, 1, 20)
    (6, 20, 20)
    """
    return min(max_steps, limits.get(difficulty, max_steps))


def close_suite(suite: Suite) -> None:
    """Free what a suite holds, when it holds anything (browsers)."""
    close = getattr(suite, "close", None)
    if callable(close):
        close()


def register_suite(name: str) -> Callable[[Callable[..., Suite]], Callable[..., Suite]]:
    """Class decorator: make a suite available by name to every stage (no if/elif ladders)."""

    def deco(factory: Callable[..., Suite]) -> Callable[..., Suite]:
        known = _SUITES.get(name)
        # The same class re-imported (e.g. doctest collection) is not a conflict.
        if known is not None and _qualified(known) != _qualified(factory):
            raise ValueError(f"suite {name!r} registered twice")
        _SUITES[name] = factory
        return factory

    return deco


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def get_suite(name: str, **options: Any) -> Suite:
    # Import the built-in suites lazily so registering them has no import-time cost
    # for modules that only need the protocols.
    import tracer1.envs  # noqa: F401

    try:
        factory = _SUITES[name]
    except KeyError:
        known = ", ".join(sorted(_SUITES)) or "none"
        raise KeyError(f"unknown suite {name!r} (known: {known})") from None
    return factory(**options)


def make_suites(configs: Mapping[str, Any]) -> dict[str, Suite]:
    """Every configured suite (params' `suites`: name → `SuiteConfig`) built with its
    `options`; a bad option is a `ConfigError` naming the key."""
    from tracer1.config import ConfigError

    suites = {}
    for name, suite_cfg in sorted(configs.items()):
        try:
            suites[name] = get_suite(name, **suite_cfg.options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"suites.{name}.options: {exc}") from None
    return suites


def suite_names() -> list[str]:
    import tracer1.envs  # noqa: F401

    return sorted(_SUITES)


def restore(suite: Suite, task: Task, actions: Sequence[Action]) -> tuple[Environment, Observation]:
    """A fresh environment brought to the state after `actions` by replaying them.

    Environments are deterministic given the task, so replay reproduces a recorded
    state exactly; Stage 2 executes a sampled action there and feedback collection
    asks the expert's action its effect there. The caller closes the environment.
    """
    env = suite.make_env()
    try:
        obs = env.reset(task)
        for i, action in enumerate(actions):
            obs, _, done, _ = env.step(action)
            if done and i < len(actions) - 1:
                raise ValueError(f"episode ended at replayed action {i} of {len(actions)}")
    except BaseException:
        env.close()
        raise
    return env, obs
