"""Offline step metrics on held-out expert episodes: the expert scores 1, garbage 0, batched."""

from __future__ import annotations

import dataclasses
import doctest
import math

import pytest

import tracer1.evaluation.offline as offline_module
from tests.fakes import ExpertPlanner, GarbagePlanner, RepeatPlanner, make_tasks
from tracer1.actions import Answer, Box, Click, Done, Tool, format_plan
from tracer1.data.build import expert_episode
from tracer1.envs import get_suite
from tracer1.evaluation.offline import offline_metrics, score_step, step_requests

SUITE = get_suite("tooluse")
TASKS = make_tasks(SUITE, range(230, 233))
EPISODES = [expert_episode(SUITE, task, "test", max_steps=30) for task in TASKS]
STEPS = sum(len(e.steps) for e in EPISODES)


def test_expert_scores_one_everywhere():
    metrics = offline_metrics(ExpertPlanner(SUITE, TASKS), EPISODES)
    assert metrics.to_dict() == {"action_type_accuracy": 1.0, "argument_accuracy": 1.0,
                                 "step_success_rate": 1.0, "parse_error_rate": 0.0,
                                 "steps": STEPS}


def test_garbage_scores_zero_with_every_forecast_a_parse_error():
    metrics = offline_metrics(GarbagePlanner(), EPISODES)
    assert (metrics.action_type_accuracy, metrics.argument_accuracy, metrics.step_success_rate,
            metrics.parse_error_rate, metrics.steps) == (0.0, 0.0, 0.0, 1.0, STEPS)


def test_right_type_wrong_arguments():
    metrics = offline_metrics(RepeatPlanner(), EPISODES)
    tool_steps = sum(isinstance(s.action, Tool) for e in EPISODES for s in e.steps)
    assert metrics.action_type_accuracy == pytest.approx(tool_steps / STEPS)
    assert metrics.argument_accuracy == metrics.step_success_rate == 0.0
    assert metrics.parse_error_rate == 0.0


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_planner_calls_are_batched_and_greedy(batch_size):
    planner = GarbagePlanner()
    offline_metrics(planner, EPISODES, batch_size=batch_size)
    assert len(planner.calls) == math.ceil(STEPS / batch_size)
    assert sum(planner.calls) == STEPS and max(planner.calls) <= batch_size
    assert not any(planner.sampled)


def test_requests_carry_the_recorded_state_and_expert_history():
    pairs = list(step_requests(EPISODES[:1]))
    episode = EPISODES[0]
    assert [ref for _, ref in pairs] == [s.action for s in episode.steps]
    for t, (request, _) in enumerate(pairs):
        assert request.instruction == episode.instruction
        assert request.observation == episode.steps[t].observation
        assert request.history == tuple(s.action for s in episode.steps[:t])


def test_episodes_with_a_withheld_reference_are_not_scored():
    # GAIA's test answers are withheld ("?"): such an imported episode is marked
    # meta.scored=false and must neither be asked for nor count in any rate.
    withheld = dataclasses.replace(EPISODES[0], meta={"scored": False})
    planner = GarbagePlanner()
    metrics = offline_metrics(planner, [withheld, *EPISODES[1:]])
    assert metrics.steps == STEPS - len(EPISODES[0].steps) == sum(planner.calls)


def test_empty_held_out_set():
    assert offline_metrics(GarbagePlanner(), []).to_dict()["steps"] == 0


@pytest.mark.parametrize("forecast,reference,expected", [
    (format_plan([Click(50, 50)]), Click(10, 10, box=Box(40, 40, 60, 60)), (True, True, False)),
    (format_plan([Click(90, 90)]), Click(50, 50, box=Box(40, 40, 60, 60)), (True, False, False)),
    (format_plan([Answer("7")]), Click(50, 50), (False, False, False)),
    ("<plan>\nanswer(text=\"7\")\nbogus(\n</plan>", Answer("7"), (True, True, True)),
    ("<plan>\n</plan>", Done(), (False, False, False)),
])
def test_score_step(forecast, reference, expected):
    score = score_step(forecast, reference)
    assert (score.type_ok, score.args_ok, score.parse_error) == expected


def test_docstring_examples():
    result = doctest.testmod(offline_module)
    assert result.attempted > 0 and result.failed == 0
