"""collect_feedback: the record contract with the Stage-2 trainer, replayability, metrics."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from tests.fakes import ExpertPlanner, GarbagePlanner, NoisyPlanner, make_tasks
from tracer1.actions import Box, Click, Tool, format_plan, parse_action, parse_plan
from tracer1.config import CollectFeedbackConfig
from tracer1.envs import get_suite
from tracer1.envs.base import restore
from tracer1.feedback import FEEDBACK_FILE, collect_feedback, feedback_record
from tracer1.policy.base import PlanRequest
from tracer1.records import FEEDBACK_KEYS
from tracer1.rollout import EpisodeTrace, StateRecord, execute_from
from tracer1.trajectory import Observation, observation_to_json

SUITE = get_suite("tooluse")
TASKS = make_tasks(SUITE, range(3))
CFG = CollectFeedbackConfig(episode_limit=10, sample=True)


def _json(value):
    return json.loads(json.dumps(value))


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("feedback")
    planner = NoisyPlanner(SUITE, TASKS, 0.6, seed=1)
    metrics = collect_feedback(planner, {"tooluse": TASKS}, CFG, out / "data", out / "m.json")
    return planner, metrics, _records(out / "data" / FEEDBACK_FILE), out


def test_every_record_has_exactly_the_contract_keys(noisy_run):
    _, metrics, records, out = noisy_run
    assert len(records) == metrics["records"] == metrics["states"]
    assert all(set(r) == set(FEEDBACK_KEYS) for r in records)
    assert json.loads((out / "m.json").read_text()) == _json(metrics)


def test_records_replay_to_the_recorded_state(noisy_run):
    _, _, records, _ = noisy_run
    tasks = {t.task_id: t for t in TASKS}
    for rec in records:
        task = tasks[rec["task_id"]]
        assert (rec["suite"], rec["family"], rec["seed"], rec["difficulty"], rec["instruction"]) \
            == (task.suite, task.family, task.seed, task.difficulty, task.instruction)
        history = [parse_action(text) for text in rec["history"]]
        env, obs = restore(SUITE, task, history)
        env.close()
        assert observation_to_json(obs) == rec["observation"]
        reference = parse_action(rec["reference_action"])
        assert _json(execute_from(SUITE, task, history, reference)) == rec["reference_executed"]
        assert rec["reference_answer"] == task.spec["answer"]
        assert rec["reference_box"] is None  # tool calls have no target box
        actions = parse_plan(rec["forecast"]).actions
        if actions:
            assert _json(execute_from(SUITE, task, history, actions[0])) == rec["executed"]
        else:
            assert rec["executed"] is None


def test_history_is_the_full_executed_prefix(noisy_run):
    _, _, records, _ = noisy_run
    by_task: dict[str, list[dict]] = {}
    for rec in records:
        by_task.setdefault(rec["task_id"], []).append(rec)
    for recs in by_task.values():
        assert [r["step"] for r in recs] == list(range(len(recs)))
        for prev, nxt in pairwise(recs):
            executed = [parse_plan(prev["forecast"]).actions[0]] if prev["executed"] else []
            assert [parse_action(h) for h in nxt["history"]] == \
                [parse_action(h) for h in prev["history"]] + executed


def test_noisy_metrics_are_on_the_planners_own_states(noisy_run):
    planner, metrics, records, _ = noisy_run
    assert all(planner.sampled)  # cfg.sample reaches the planner
    invalid = sum(r["executed"] is None for r in records)
    assert 0 < invalid < len(records)
    assert metrics["invalid_action_rate"] == pytest.approx(invalid / len(records))
    assert metrics["episodes"] == len(TASKS)
    # Valid forecasts come from the expert, so agreement = the valid share.
    assert metrics["first_action_agreement"] == pytest.approx(1 - invalid / len(records))
    assert sorted(metrics["families"]) == sorted(f"tooluse/{f}" for f in SUITE.families())
    assert sum(f["states"] for f in metrics["families"].values()) == len(records)


def test_expert_planner_agrees_everywhere(tmp_path):
    metrics = collect_feedback(ExpertPlanner(SUITE, TASKS), {"tooluse": TASKS}, CFG,
                               tmp_path / "d", tmp_path / "m.json")
    assert metrics["success_rate"] == 1.0
    assert metrics["first_action_agreement"] == metrics["first_action_type_agreement"] == 1.0
    assert metrics["invalid_action_rate"] == metrics["repetition_rate"] == 0.0


def test_garbage_planner_agrees_nowhere(tmp_path):
    metrics = collect_feedback(GarbagePlanner(), {"tooluse": TASKS[:3]},
                               CollectFeedbackConfig(episode_limit=2), tmp_path / "d",
                               tmp_path / "m.json")
    assert metrics["states"] == 6 and metrics["success_rate"] == 0.0
    assert metrics["first_action_type_agreement"] == 0.0
    assert metrics["invalid_action_rate"] == 1.0


def _state(reference) -> StateRecord:
    request = PlanRequest("Open it.", Observation(text="page"), (Tool.of("search", {"q": "x"}),))
    forecast = format_plan([Click(10, 10)])
    return StateRecord(0, request, forecast, parse_plan(forecast), {"point": [10, 10]},
                       reference=reference, reference_executed={"point": [12, 12]})


def test_gui_reference_box_is_recorded():
    task = TASKS[0]
    rec = feedback_record(EpisodeTrace(task, (), False),
                          _state(Click(12, 12, box=Box(5, 5, 20, 20))))
    assert rec["reference_box"] == [5, 5, 20, 20]
    assert rec["reference_action"] == "click(x=12, y=12)"
    assert rec["history"] == ['tool(name="search", args={"q": "x"})']


def test_a_state_without_reference_is_refused():
    with pytest.raises(ValueError, match="expert"):
        feedback_record(EpisodeTrace(TASKS[0], (), False), _state(None))
