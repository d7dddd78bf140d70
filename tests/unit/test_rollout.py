"""The closed-loop runner on the real tool-use suite: success, invalid forecasts, repetition,
lockstep batching, expert references, and that every environment gets closed."""

from __future__ import annotations

import doctest
from itertools import pairwise

import pytest

import tracer1.rollout
from tests.fakes import (
    REPEATED_CALL,
    ExpertPlanner,
    GarbagePlanner,
    NoisyPlanner,
    RepeatPlanner,
    make_tasks,
)
from tracer1.actions import Answer
from tracer1.envs import get_suite
from tracer1.envs.tooluse import ToolUseSuite
from tracer1.evaluation.metrics import episode_stats
from tracer1.rollout import execute_from, run_episodes

SUITE = get_suite("tooluse")
TASKS = make_tasks(SUITE, range(4))  # 5 families x 4 seeds, difficulties 1-3


class CountingSuite(ToolUseSuite):
    """The real suite, counting the environments it opens and those closed."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = self.closed = 0

    def make_env(self):
        env = super().make_env()
        self.opened += 1
        close = env.close

        def counted_close() -> None:
            self.closed += 1
            close()

        env.close = counted_close
        return env


def test_expert_planner_solves_every_task():
    traces = run_episodes(ExpertPlanner(SUITE, TASKS), SUITE, TASKS, max_steps=12)
    assert [t.task for t in traces] == TASKS  # one trace per task, in order
    assert all(t.success for t in traces)
    # The plan's calls, then the answer: nothing wasted.
    assert [t.steps for t in traces] == [len(t.spec["plan"]) + 1 for t in TASKS]
    assert all(isinstance(t.states[-1].action, Answer) and t.states[-1].done for t in traces)
    stats = episode_stats(traces)
    assert stats["success_rate"] == 1.0
    assert stats["invalid_action_rate"] == stats["repetition_rate"] == 0.0


def test_garbage_is_invalid_every_step_and_never_touches_the_env():
    traces = run_episodes(GarbagePlanner(), SUITE, TASKS[:6], max_steps=7)
    assert not any(t.success for t in traces)
    assert all(t.steps == 7 and t.invalid == 7 and t.actions == () for t in traces)
    for trace in traces:
        first = trace.states[0].request
        # The state never changes: same observation, empty history, every step.
        assert all(s.request == first and s.executed is None for s in trace.states)
    assert episode_stats(traces)["invalid_action_rate"] == 1.0


def test_repeat_planner_shows_repetition():
    traces = run_episodes(RepeatPlanner(), SUITE, TASKS[:6], max_steps=6)
    for trace in traces:
        assert not trace.success and trace.invalid == 0
        assert [s.repeated for s in trace.states] == [False] + [True] * 5
        assert all(s.action == REPEATED_CALL and s.executed["ok"] for s in trace.states)
    assert episode_stats(traces)["repetition_rate"] == pytest.approx(5 / 6)


def test_one_batched_plan_call_per_step():
    planner = ExpertPlanner(SUITE, TASKS)
    traces = run_episodes(planner, SUITE, TASKS, max_steps=12)
    lengths = [t.steps for t in traces]
    # Calls = the longest episode, not episodes x steps; each call holds the live episodes.
    assert len(planner.calls) == max(lengths) < sum(lengths)
    assert planner.calls == [sum(n > k for n in lengths) for k in range(max(lengths))]
    assert planner.calls[0] == len(TASKS)


def test_batch_size_runs_groups_in_lockstep():
    planner = ExpertPlanner(SUITE, TASKS)
    traces = run_episodes(planner, SUITE, TASKS, max_steps=12, batch_size=8)
    assert [t.task for t in traces] == TASKS and all(t.success for t in traces)
    groups = [traces[i : i + 8] for i in range(0, len(traces), 8)]
    assert len(planner.calls) == sum(max(t.steps for t in g) for g in groups)
    assert max(planner.calls) == 8


def test_step_budget_cuts_episodes_short():
    traces = run_episodes(ExpertPlanner(SUITE, TASKS), SUITE, TASKS, max_steps=3)
    for trace in traces:
        needed = len(trace.task.spec["plan"]) + 1
        assert trace.steps == min(3, needed)
        assert trace.success == (needed <= 3)


def test_a_suite_bounds_its_easier_tasks_tighter_even_for_unparseable_forecasts():
    bounded = ToolUseSuite()
    bounded.step_limits = {1: 2, 2: 4}  # difficulty 3 keeps the caller's bound
    traces = run_episodes(GarbagePlanner(), bounded, TASKS, max_steps=7)
    assert {(t.task.difficulty, t.steps) for t in traces} == {(1, 2), (2, 4), (3, 7)}


def test_invalid_forecasts_keep_the_state_and_the_episode_goes_on():
    planner = NoisyPlanner(SUITE, TASKS, 0.5, seed=3, horizon=3)
    traces = run_episodes(planner, SUITE, TASKS, max_steps=20, sample=True)
    assert all(planner.sampled)
    invalid = [(s, nxt) for t in traces for s, nxt in pairwise(t.states) if s.invalid]
    assert invalid, "the seed should give some garbage forecasts"
    assert all(nxt.request == s.request for s, nxt in invalid)
    assert sum(t.success for t in traces) >= len(traces) - 1  # the expert recovers


def test_expert_reference_from_every_visited_state():
    suite = CountingSuite()
    tasks = TASKS[:6]
    traces = run_episodes(RepeatPlanner(), suite, tasks, max_steps=4, expert=suite.expert())
    for trace in traces:
        plan = trace.task.spec["plan"]
        for state in trace.states:
            # The repeated call is never planned, so the expert always wants the first call.
            assert state.reference.name == plan[0]["tool"]
            assert state.reference_executed == execute_from(
                SUITE, trace.task, state.request.history, state.reference)
            assert state.reference_executed["ok"]
    # Rollout envs plus one scratch env per state (plus execute_from above on SUITE).
    assert suite.opened == suite.closed == len(tasks) + sum(t.steps for t in traces)


def test_expert_planner_agrees_with_its_reference():
    traces = run_episodes(ExpertPlanner(SUITE, TASKS), SUITE, TASKS[:8], max_steps=12,
                          expert=SUITE.expert())
    for state in (s for t in traces for s in t.states):
        assert state.reference == state.action
        assert state.reference_executed == state.executed


class _WrongCount(GarbagePlanner):
    def plan(self, requests, *, sample=False, num=1):
        return super().plan(requests[1:], sample=sample, num=num)


class _NotText(GarbagePlanner):
    def forecast(self, request):
        return None


@pytest.mark.parametrize("planner,error", [(_WrongCount(), ValueError), (_NotText(), TypeError)])
def test_planner_bugs_fail_loudly_and_close_every_env(planner, error):
    suite = CountingSuite()
    with pytest.raises(error):
        run_episodes(planner, suite, TASKS[:4], max_steps=3)
    assert suite.opened == suite.closed == 4


def test_max_steps_must_be_positive():
    with pytest.raises(ValueError, match="max_steps"):
        run_episodes(GarbagePlanner(), SUITE, TASKS[:1], max_steps=0)


def test_docstring_examples():
    result = doctest.testmod(tracer1.rollout)
    assert result.attempted > 0 and result.failed == 0


def test_stop_after_invalid_ends_a_stuck_episode_early():
    traces = run_episodes(GarbagePlanner(), SUITE, TASKS[:3], max_steps=7, stop_after_invalid=2)
    assert all(t.steps == 2 and t.invalid == 2 and not t.success for t in traces)
    # A planner that writes actions is never stopped by it.
    solved = run_episodes(ExpertPlanner(SUITE, TASKS[:3]), SUITE, TASKS[:3], max_steps=12,
                          stop_after_invalid=1)
    assert all(t.success for t in solved)
    with pytest.raises(ValueError, match="stop_after_invalid"):
        run_episodes(GarbagePlanner(), SUITE, TASKS[:1], max_steps=3, stop_after_invalid=0)
