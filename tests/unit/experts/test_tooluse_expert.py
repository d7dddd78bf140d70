"""The scripted tool-use expert: solves every task, from any state a planner leaves behind."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from tracer1.actions import Answer, Click, Done, Tool, format_action
from tracer1.envs.tooluse import ToolUseEnv, ToolUseSuite
from tracer1.envs.tooluse_tasks import DIFFICULTIES, FAMILIES, generate_task
from tracer1.experts import ToolUseExpert
from tracer1.experts.tooluse import next_call, same_call
from tracer1.trajectory import Observation, Step, Task

SEEDS = range(300)
RECOVERY_SEEDS = range(40)


@pytest.fixture(scope="module")
def env():
    environment = ToolUseEnv()
    yield environment
    environment.close()


def run(env: ToolUseEnv, expert: ToolUseExpert, task: Task, history: list[Step] | None = None,
        max_steps: int = 30) -> tuple[float, list[Step]]:
    """The build stage's loop: expert acts, env executes, every step is recorded."""
    history = list(history or [])
    obs = env.reset(task) if not history else history[-1].observation
    done, reward = False, 0.0
    while not done and len(history) < max_steps:
        action = expert.act(task, obs, history)
        next_obs, reward, done, info = env.step(action)
        history.append(Step(len(history), obs, action, executed=info, reward=reward))
        obs = next_obs
    return reward, history


@pytest.mark.parametrize("family", list(FAMILIES))
def test_expert_solves_every_task(env, family):
    expert, solved, lengths = ToolUseExpert(), Counter(), Counter()
    for difficulty in DIFFICULTIES:
        for seed in SEEDS:
            task = generate_task(family, seed, difficulty)
            reward, steps = run(env, expert, task)
            solved[reward == 1.0] += 1
            lengths[len(steps) - 1] += 1
            # Exactly the plan, then the answer; every step is JSON for the dataset.
            assert len(steps) == len(task.spec["plan"]) + 1
            assert all(s.executed.get("ok", True) for s in steps)
            json.dumps([s.executed for s in steps], allow_nan=False)
    assert solved == Counter({True: len(SEEDS) * len(DIFFICULTIES)})
    assert 2 <= min(lengths) and max(lengths) <= 6


def _noise(rng: random.Random, task: Task, other: Task) -> Tool | Click:
    """A planner's detour: another task's call, a failing call, a repeat, or a GUI action."""
    plan = task.spec["plan"]
    choice = rng.randrange(5)
    if choice == 0:
        call = rng.choice(other.spec["plan"])
        return Tool.of(call["tool"], call["args"])
    if choice == 1:
        call = rng.choice(plan)  # right tool, corrupted arguments: fails or misleads
        return Tool.of(call["tool"], {**call["args"], "bogus": 1})
    if choice == 2:
        call = rng.choice(plan)  # a duplicate (or premature) planned call
        return Tool.of(call["tool"], call["args"])
    if choice == 3:
        return Tool.of("calculator", {"expression": rng.choice(["1/0", "x+1", "9**9**9"])})
    return Click(rng.randint(0, 1000), rng.randint(0, 1000))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_expert_recovers_from_planner_detours(env, family):
    rng = random.Random(f"recovery/{family}")
    expert = ToolUseExpert()
    for difficulty in DIFFICULTIES:
        for seed in RECOVERY_SEEDS:
            task = generate_task(family, seed, difficulty)
            other = generate_task(rng.choice(list(FAMILIES)), seed + 1000, difficulty)
            obs, history = env.reset(task), []
            # Interleave expert steps and detours, then let the expert finish alone.
            for _ in range(rng.randint(1, 6)):
                action = (expert.act(task, obs, history) if rng.random() < 0.4
                          else _noise(rng, task, other))
                if not isinstance(action, Tool):  # never end the episode mid-injection
                    action = action if isinstance(action, Click) else Done()
                if isinstance(action, Done):
                    break
                next_obs, reward, done, info = env.step(action)
                history.append(Step(len(history), obs, action, executed=info, reward=reward))
                obs = next_obs
            missing = sum(not any(same_call(c, s.executed) for s in history)
                          for c in task.spec["plan"])
            assert (next_call(task.spec["plan"], history) is None) == (missing == 0)
            reward, steps = run(env, expert, task, history)
            assert reward == 1.0, task.task_id
            # Recovery is efficient: only the calls still missing, then the answer.
            assert len(steps) - len(history) == missing + 1


def test_expert_acts_from_any_prefix_of_its_own_episode(env):
    task = generate_task("mixed", 5, 3)
    _, full = run(env, ToolUseExpert(), task)
    for k in range(len(full)):
        assert ToolUseExpert().act(task, full[k].observation, full[:k]) == full[k].action


def test_failed_or_foreign_calls_do_not_count():
    plan = [{"tool": "calculator", "args": {"expression": "6 * 7"}}]
    task = Task("t", "tooluse", "demo", 0, "6 times 7?", spec={"plan": plan, "answer": "42"})
    call = Tool.of("calculator", {"expression": "6 * 7"})

    def step(info: dict) -> Step:
        return Step(0, Observation(), call, executed=info)

    expert = ToolUseExpert()
    failed = step({"tool": "calculator", "args": {"expression": "6 * 7"}, "ok": False})
    other = step({"tool": "convert", "args": {"expression": "6 * 7"}, "ok": True})
    extra = step({"tool": "calculator", "args": {"expression": "6*7", "x": 1}, "ok": True})
    gui = step({"verb": "click", "ok": False, "output": "error"})
    empty = step({})
    assert expert.act(task, Observation(), [failed, other, extra, gui, empty]) == call
    spaced = step({"tool": "calculator", "args": {"expression": " 6*7 "}, "ok": True})
    assert expert.act(task, Observation(), [spaced]) == Answer("42")


def test_numbers_match_in_any_form():
    planned = {"tool": "convert", "args": {"value": 71.5, "from_unit": "cm", "to_unit": "inch"}}
    executed = {"tool": "convert", "ok": True,
                "args": {"value": "71.50", "from_unit": "CM", "to_unit": "inch"}}
    assert same_call(planned, executed)
    assert not same_call(planned, {**executed, "args": {**executed["args"], "value": 71.6}})


def test_expert_actions_are_canonical_tool_actions():
    task = generate_task("date_math", 3, 3)
    action = ToolUseExpert().act(task, Observation(), [])
    call = task.spec["plan"][0]
    assert action == Tool.of(call["tool"], call["args"])
    assert format_action(action).startswith('tool(name="search", args={"query": ')


def test_suite_hands_out_the_expert():
    assert isinstance(ToolUseSuite().expert(), ToolUseExpert)
