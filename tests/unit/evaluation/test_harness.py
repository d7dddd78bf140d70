"""evaluate_planners: several policies on the same tasks → a report the gate can read."""

from __future__ import annotations

import doctest

import pytest

import tracer1.evaluation.harness as harness_module
from tests.fakes import ExpertPlanner, GarbagePlanner, NoisyPlanner, RepeatPlanner, make_tasks
from tracer1.config import EvaluateConfig
from tracer1.data.build import expert_episode
from tracer1.envs import get_suite
from tracer1.evaluation.harness import default_roles, evaluate_planners
from tracer1.evaluation.metrics import paired_by_task
from tracer1.evaluation.report import check_report

SUITE = get_suite("tooluse")
TASKS = make_tasks(SUITE, range(230, 236))  # 30 tasks, 10 per difficulty
HELDOUT_TASKS = make_tasks(SUITE, range(240, 242))
HELDOUT = {"tooluse": [expert_episode(SUITE, t, "test", 30) for t in HELDOUT_TASKS]}
CFG = EvaluateConfig(episode_limit=10, bootstrap_samples=300, confidence=0.9, seed=5)
ROLES = {"candidate": "stage2", "baseline": "reactive", "champion": "champion"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    known = TASKS + HELDOUT_TASKS
    planners = {
        "stage2": ExpertPlanner(SUITE, known),
        "reactive": NoisyPlanner(SUITE, known, 0.4, seed=0),
        "champion": RepeatPlanner(),
        "garbage": GarbagePlanner(),
    }
    return evaluate_planners(planners, {"tooluse": TASKS}, HELDOUT, CFG, roles=ROLES)


def _suite(report, policy):
    return report["policies"][policy]["suites"]["tooluse"]


def test_report_follows_the_schema(report):
    assert check_report(report) == []
    assert (report["split"], report["confidence"], report["roles"]) == ("test", 0.9, ROLES)
    assert list(report["policies"]) == ["stage2", "reactive", "champion", "garbage"]


def test_every_policy_runs_the_same_tasks(report):
    ids = {t.task_id for t in TASKS}
    for policy in report["policies"]:
        section = _suite(report, policy)
        assert set(section["per_task"]) == ids and section["episodes"] == len(TASKS)


def test_scores_order_the_policies(report):
    expert, noisy = _suite(report, "stage2"), _suite(report, "reactive")
    repeat, garbage = _suite(report, "champion"), _suite(report, "garbage")
    # Wilson at 90%: 30 of 30 is not "exactly 1": the lower bound is n / (n + z^2).
    z2 = 1.6448536269514722 ** 2
    assert expert["success_rate"] == 1.0
    assert expert["ci95"] == [pytest.approx(30 / (30 + z2), abs=1e-6), 1.0]
    assert repeat["ci95"] == [0.0, pytest.approx(z2 / (30 + z2), abs=1e-6)]
    assert 0.0 < noisy["success_rate"] < 1.0
    assert noisy["ci95"][0] < noisy["success_rate"] < noisy["ci95"][1]
    assert repeat["success_rate"] == garbage["success_rate"] == 0.0
    assert garbage["invalid_action_rate"] == 1.0 and garbage["mean_steps"] == CFG.episode_limit
    assert repeat["repetition_rate"] == pytest.approx(0.9)
    assert expert["offline"]["step_success_rate"] == 1.0
    assert garbage["offline"]["step_success_rate"] == 0.0
    assert expert["offline"]["steps"] == sum(len(e.steps) for e in HELDOUT["tooluse"])
    # The gate's paired comparison works straight off the report.
    diff = paired_by_task(expert["per_task"], noisy["per_task"], seed=0)
    assert diff.n == len(TASKS) and diff.mean == pytest.approx(1 - noisy["success_rate"])


def test_paired_differences_on_all_and_long_horizon_tasks(report):
    paired = report["paired"]
    # candidate - baseline and candidate - champion; no training ladder here.
    assert list(paired) == ["stage2-reactive", "stage2-champion"]
    expert, noisy = _suite(report, "stage2"), _suite(report, "reactive")
    cells = paired["stage2-reactive"]["suites"]["tooluse"]
    assert cells["all"]["tasks"] == len(TASKS)
    assert cells["all"]["difference"] == pytest.approx(1 - noisy["success_rate"], abs=1e-6)
    assert cells["all"]["b_only"] == 0  # the expert solves everything the noisy one does
    hard = sorted(t.task_id for t in TASKS if t.difficulty == 3)
    long = cells["long_horizon"]
    assert (long["tasks"], long["difficulty"]) == (len(hard), 3)
    assert long["difference"] == pytest.approx(
        sum(expert["per_task"][t] - noisy["per_task"][t] for t in hard) / len(hard), abs=1e-6)
    lo, hi = long["ci95"]
    assert lo <= long["difference"] <= hi
    # The expert beats the repeat-loop champion on every task: the interval excludes 0.
    beaten = paired["stage2-champion"]["suites"]["tooluse"]["all"]
    assert beaten["difference"] == 1.0 and beaten["a_only"] == len(TASKS)
    assert 0.0 < beaten["ci95"][0] < 1.0 == beaten["ci95"][1]


def test_the_gate_reads_the_report(report):
    gate = pytest.importorskip("tracer1.registry.gate")
    from tracer1.config import PromoteConfig

    decision = gate.decide(report, PromoteConfig())
    assert decision.candidate == "stage2" and decision.champion == "champion"
    assert decision.promoted, decision.reasons  # the expert beats the repeat-loop champion
    report = {**report, "roles": {**report["roles"], "candidate": "garbage"}}
    assert not gate.decide(report, PromoteConfig()).promoted


def test_families_and_long_horizon(report):
    section = _suite(report, "reactive")
    assert sorted(section["families"]) == sorted(SUITE.families())
    assert sum(f["episodes"] for f in section["families"].values()) == len(TASKS)
    long = section["long_horizon"]
    hard = [t.task_id for t in TASKS if t.difficulty == 3]
    assert (long["difficulty"], long["episodes"]) == (3, len(hard))
    assert long["tasks"] == sorted(hard)
    assert long["success_rate"] == pytest.approx(
        sum(section["per_task"][t] for t in hard) / len(hard), abs=1e-6)


def test_deterministic_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = [evaluate_planners({"stage2": GarbagePlanner(), "reactive": RepeatPlanner()},
                             {"tooluse": TASKS[:5]}, {}, CFG) for _ in range(2)]
    assert run[0] == run[1]
    assert run[0]["roles"] == {"candidate": "stage2", "baseline": "reactive", "champion": None}
    assert _suite(run[0], "stage2")["offline"]["steps"] == 0
    assert not any(tmp_path.iterdir())


def test_notes_reach_the_report():
    report = evaluate_planners({"stage2": GarbagePlanner()}, {"tooluse": TASKS[:2]}, {}, CFG,
                               notes=["base: not scored (policy.base_model is null)"])
    assert report["notes"] == ["base: not scored (policy.base_model is null)"]
    assert check_report(report) == []


def test_docstring_examples():
    result = doctest.testmod(harness_module)
    assert result.attempted > 0 and result.failed == 0


def test_roles_must_name_evaluated_policies():
    assert default_roles(["stage2"]) == {"candidate": "stage2", "baseline": None,
                                         "champion": None}
    with pytest.raises(ValueError, match="roles.candidate"):
        evaluate_planners({"garbage": GarbagePlanner()}, {"tooluse": TASKS[:2]}, {}, CFG)
