"""The eval gate: every check, pass and fail, and malformed reports."""

import copy
import json

import pytest

from tracer1.config import PromoteConfig
from tracer1.evaluation.report import SCHEMA_VERSION
from tracer1.registry.gate import (
    REPORT_SCHEMA_VERSION,
    Decision,
    RegistryState,
    decide,
    with_load_check,
)

CFG = PromoteConfig(floors={"tooluse": 0.3}, tolerance=0.02, margin=0.0)
TASKS = [f"t{i}" for i in range(10)]


def suite(successes, *, tasks=TASKS, episodes=None):
    """A suite result whose per-task outcomes are `successes` (a list of 0/1 over `tasks`)."""
    per_task = dict(zip(tasks, successes, strict=True))
    rate = sum(successes) / len(successes) if successes else 0.0
    return {
        "success_rate": rate,
        "ci95": [max(0.0, rate - 0.1), min(1.0, rate + 0.1)],
        "episodes": len(successes) if episodes is None else episodes,
        "mean_steps": 4.0,
        "repetition_rate": 0.0,
        "invalid_action_rate": 0.0,
        "per_task": per_task,
    }


def report(candidate, champion=None, baseline=None, **roles):
    policies = {"stage2": {"suites": candidate}}
    if champion is not None:
        policies["champion"] = {"suites": champion}
    if baseline is not None:
        policies["reactive"] = {"suites": baseline}
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "split": "test",
        "confidence": 0.95,
        "policies": policies,
        "roles": {
            "candidate": "stage2",
            "baseline": "reactive" if baseline is not None else None,
            "champion": "champion" if champion is not None else None,
            **roles,
        },
    }


def check(decision: Decision, name: str):
    (found,) = [c for c in decision.checks if c.name == name]
    return found


SIX = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]  # 0.6
FIVE = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]  # 0.5


def test_first_candidate_above_floor_is_promoted():
    d = decide(report({"tooluse": suite(SIX)}), CFG)
    assert d.decision == "promote" and d.promoted
    assert check(d, "beats_champion").passed
    assert "no champion yet" in check(d, "beats_champion").reason
    assert d.candidate == "stage2" and d.champion is None
    assert d.candidate_metrics == {"tooluse": 0.6}


def test_reasons_one_per_check_pass_or_fail():
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)}), CFG)
    assert len(d.reasons) == len(d.checks)
    assert all(r.startswith(("PASS ", "FAIL ")) for r in d.reasons)
    names = [c.name for c in d.checks]
    assert names == ["well_formed", "episodes:tooluse", "floor:tooluse",
                     "no_regression:tooluse", "beats_champion"]


def test_weak_candidate_with_zero_success_is_rejected():
    d = decide(report({"tooluse": suite([0] * 10)}), CFG)
    assert d.decision == "reject"
    floor = check(d, "floor:tooluse")
    assert not floor.passed and floor.data["value"] == 0.0
    assert any(r.startswith("FAIL") and "floor 0.3" in r for r in d.reasons)


def test_untrained_first_candidate_fails_its_floors_without_a_champion():
    """A zero-training-step candidate (every task failed), no champion, no registry
    champion: the floors alone reject it - "no champion yet" is not a free pass."""
    cfg = PromoteConfig(floors={"tooluse": 0.3, "miniwob": 0.4})
    zero = {"tooluse": suite([0] * 10), "miniwob": suite([0] * 10)}
    d = decide(report(zero), cfg, RegistryState(champion_version=None))
    assert d.decision == "reject" and not d.promoted
    assert {c.name for c in d.failures} == {"floor:tooluse", "floor:miniwob"}
    assert check(d, "beats_champion").passed  # nothing to beat: only the floors fail
    assert check(d, "registry_champion").passed
    assert check(d, "floor:miniwob").data == {"floor": 0.4, "value": 0.0}


def test_floor_compares_the_point_estimate_not_the_lower_bound():
    # 0.3 measured, interval reaching well below the floor: the point estimate decides.
    cfg = PromoteConfig(floors={"tooluse": 0.3})
    d = decide(report({"tooluse": suite([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])}), cfg)
    floor = check(d, "floor:tooluse")
    assert floor.passed and floor.data["value"] == pytest.approx(0.3)
    assert "ci95" in floor.reason


def test_gate_and_report_agree_on_the_schema_version():
    assert REPORT_SCHEMA_VERSION == SCHEMA_VERSION


def test_floor_exactly_met_passes():
    cfg = PromoteConfig(floors={"tooluse": 0.6})
    assert check(decide(report({"tooluse": suite(SIX)}), cfg), "floor:tooluse").passed


def test_floor_for_a_suite_missing_from_the_report_fails():
    cfg = PromoteConfig(floors={"tooluse": 0.1, "miniwob": 0.1})
    d = decide(report({"tooluse": suite(SIX)}), cfg)
    assert d.decision == "reject"
    assert "no results" in check(d, "floor:miniwob").reason
    assert check(d, "floor:tooluse").passed


def test_suite_without_floor_is_not_floored():
    d = decide(report({"tooluse": suite(SIX), "miniwob": suite([0] * 10)}), CFG)
    assert not any(c.name == "floor:miniwob" for c in d.checks)
    assert d.decision == "promote"


def test_zero_episodes_rejects():
    d = decide(report({"tooluse": suite([], tasks=[], episodes=0)}), PromoteConfig(floors={}))
    assert d.decision == "reject"
    assert not check(d, "episodes:tooluse").passed


def test_better_candidate_beats_champion():
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)}), CFG)
    assert d.decision == "promote"
    beat = check(d, "beats_champion")
    assert beat.data["candidate"] == pytest.approx(0.6)
    assert beat.data["champion"] == pytest.approx(0.5)
    assert check(d, "no_regression:tooluse").data["delta"] == pytest.approx(0.1)
    assert d.champion_metrics == {"tooluse": 0.5}


def test_equal_to_champion_is_not_enough():
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": suite(SIX)}), CFG)
    assert d.decision == "reject"
    assert not check(d, "beats_champion").passed
    assert check(d, "no_regression:tooluse").passed


def test_margin_must_be_exceeded():
    cfg = PromoteConfig(floors={}, margin=0.1)
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)}), cfg)
    assert not check(d, "beats_champion").passed  # gain 0.1 is not > 0.1
    cfg = PromoteConfig(floors={}, margin=0.05)
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)}), cfg)
    assert d.decision == "promote"


def test_regression_on_one_suite_rejects_even_if_the_mean_improves():
    cand = {"tooluse": suite([1] * 10), "gui": suite(FIVE)}
    champ = {"tooluse": suite([0] * 10), "gui": suite(SIX)}  # gui drops 0.1 > tolerance
    d = decide(report(cand, champion=champ), PromoteConfig(floors={}, tolerance=0.02))
    assert check(d, "beats_champion").passed
    assert not check(d, "no_regression:gui").passed
    assert check(d, "no_regression:tooluse").passed
    assert d.decision == "reject"


def test_drop_within_tolerance_passes():
    cand = {"tooluse": suite([1] * 10), "gui": suite(FIVE)}
    champ = {"tooluse": suite([0] * 10), "gui": suite(SIX)}
    d = decide(report(cand, champion=champ), PromoteConfig(floors={}, tolerance=0.1))
    assert check(d, "no_regression:gui").passed
    assert d.decision == "promote"


def test_regression_is_paired_on_common_task_ids():
    # Unpaired rates say the candidate is better (0.5 vs 0.33), but on the 5 tasks both ran
    # the champion solved all and the candidate none.
    cand = suite([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    champ = suite([1] * 5 + [0] * 10, tasks=TASKS[:5] + [f"x{i}" for i in range(10)])
    d = decide(report({"tooluse": cand}, champion={"tooluse": champ}), PromoteConfig(floors={}))
    assert check(d, "beats_champion").passed
    reg = check(d, "no_regression:tooluse")
    assert reg.data["paired_tasks"] == 5
    assert reg.data["delta"] == pytest.approx(-1.0)
    assert not reg.passed and d.decision == "reject"


def test_no_common_tasks_fails_the_comparison():
    champ = suite(FIVE, tasks=[f"other{i}" for i in range(10)])
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": champ}), CFG)
    reg = check(d, "no_regression:tooluse")
    assert not reg.passed and "no task ids in common" in reg.reason
    assert d.decision == "reject"


def test_champion_suite_missing_for_candidate_fails():
    champ = {"tooluse": suite(FIVE), "gui": suite(FIVE)}
    d = decide(report({"tooluse": suite(SIX)}, champion=champ), CFG)
    assert not check(d, "no_regression:gui").passed
    assert d.decision == "reject"


def test_beats_champion_averages_over_shared_suites_only():
    cand = {"tooluse": suite(SIX), "extra": suite([0] * 10)}
    d = decide(report(cand, champion={"tooluse": suite(FIVE)}), CFG)
    assert check(d, "beats_champion").data["suites"] == ["tooluse"]
    assert d.decision == "promote"


def test_baseline_does_not_take_part_in_the_gate():
    d = decide(report({"tooluse": suite(SIX)}, baseline={"tooluse": suite([1] * 10)}), CFG)
    assert d.decision == "promote"


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda r: r.update(schema_version=1), "schema_version"),  # bootstrap-era report
        (lambda r: r.update(schema_version=REPORT_SCHEMA_VERSION + 1), "schema_version"),
        (lambda r: r.pop("schema_version"), "schema_version"),
        (lambda r: r.pop("policies"), "policies"),
        (lambda r: r.update(roles=[]), "roles"),
        (lambda r: r["roles"].pop("candidate"), "roles.candidate"),
        (lambda r: r["roles"].update(candidate="ghost"), "'ghost' is not in policies"),
        (lambda r: r["roles"].update(champion="ghost"), "roles.champion"),
        (lambda r: r["policies"]["stage2"].pop("suites"), "policies.stage2.suites"),
        (lambda r: r["policies"]["stage2"].update(suites={}), "non-empty"),
        (lambda r: r["policies"]["stage2"]["suites"]["tooluse"].pop("success_rate"),
         "success_rate"),
        (lambda r: r["policies"]["stage2"]["suites"]["tooluse"].update(success_rate="high"),
         "success_rate"),
        (lambda r: r["policies"]["stage2"]["suites"]["tooluse"].update(success_rate=float("nan")),
         "success_rate"),
        (lambda r: r["policies"]["stage2"]["suites"]["tooluse"].update(success_rate=True),
         "success_rate"),
        (lambda r: r["policies"]["stage2"]["suites"]["tooluse"].update(episodes="10"),
         "episodes"),
        (lambda r: r["policies"]["stage2"]["suites"]["tooluse"].update(per_task=[1, 0]),
         "per_task"),
        (lambda r: r["policies"]["stage2"]["suites"].update(tooluse=None), "expected an object"),
    ],
)
def test_malformed_report_rejects_with_a_clear_reason(mutate, needle):
    r = report({"tooluse": suite(SIX)})
    mutate(r)
    d = decide(r, CFG)
    assert d.decision == "reject"
    assert [c.name for c in d.checks] == ["well_formed"]
    assert needle in d.reasons[0] and d.reasons[0].startswith("FAIL malformed eval report")


@pytest.mark.parametrize("junk", [None, [], "report", 3])
def test_non_object_report_rejects(junk):
    d = decide(junk, CFG)
    assert d.decision == "reject" and d.candidate is None
    assert "expected a JSON object" in d.reasons[0]


def test_malformed_champion_rejects():
    champ = suite(FIVE)
    del champ["episodes"]
    d = decide(report({"tooluse": suite(SIX)}, champion={"tooluse": champ}), CFG)
    assert d.decision == "reject" and "policies.champion.suites.tooluse.episodes" in d.reasons[0]


def test_decide_does_not_mutate_the_report():
    r = report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)})
    before = copy.deepcopy(r)
    decide(r, CFG, RegistryState("1"))
    assert r == before


# ------------------------------------------------------------ registry consistency


def test_registry_champion_unscored_rejects():
    d = decide(report({"tooluse": suite(SIX)}), CFG, RegistryState(champion_version="3"))
    reg = check(d, "registry_champion")
    assert not reg.passed and "v3" in reg.reason and d.decision == "reject"


def test_registry_without_champion_and_report_without_champion_passes():
    d = decide(report({"tooluse": suite(SIX)}), CFG, RegistryState(champion_version=None))
    assert check(d, "registry_champion").passed and d.decision == "promote"


def test_report_champion_but_registry_has_none_rejects():
    r = report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)})
    d = decide(r, CFG, RegistryState(None))
    assert not check(d, "registry_champion").passed


def test_stale_champion_version_rejects():
    r = report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)}, champion_version="2")
    d = decide(r, CFG, RegistryState("3"))
    assert not check(d, "registry_champion").passed and "now v3" in d.reasons[-1]
    d = decide(r, CFG, RegistryState("2"))
    assert d.decision == "promote" and d.champion_version == "2"


def test_without_registry_state_the_check_is_skipped():
    d = decide(report({"tooluse": suite(SIX)}), CFG)
    assert not any(c.name == "registry_champion" for c in d.checks)


# ------------------------------------------------------------------- loadability


def test_a_promoted_candidate_that_does_not_load_is_a_reject():
    d = decide(report({"tooluse": suite(SIX)}), CFG)
    assert d.promoted
    broken = with_load_check(d, "models:/m/3", "OSError('weights are corrupt')")
    assert broken.decision == "reject" and not broken.promoted
    assert [c.name for c in broken.failures] == ["loadable"]
    assert broken.reasons[:-1] == d.reasons  # the gate's own lines are kept
    assert broken.reasons[-1] == "FAIL models:/m/3 does not load: OSError('weights are corrupt')"
    assert check(broken, "loadable").data == {"error": "OSError('weights are corrupt')"}
    assert json.loads(json.dumps(broken.to_json()))["decision"] == "reject"


def test_a_loadable_candidate_keeps_its_verdict():
    for d in (decide(report({"tooluse": suite(SIX)}), CFG),
              decide(report({"tooluse": suite([0] * 10)}), CFG)):
        ok = with_load_check(d, "models:/m/1", None)
        assert ok.decision == d.decision and ok.failures == d.failures
        assert ok.reasons[-1] == "PASS models:/m/1 loads back and plans"


# ------------------------------------------------------------------------ JSON


def test_to_json_shape_and_serialisable():
    r = report({"tooluse": suite(SIX)}, champion={"tooluse": suite(FIVE)})
    d = decide(r, CFG, RegistryState("1"))
    out = json.loads(json.dumps(d.to_json()))
    assert out["decision"] == "promote"
    assert out["candidate"] == "stage2" and out["champion"] == "champion"
    assert out["champion_version"] == "1"
    assert out["primary_metric"] == "success_rate"
    assert out["metrics"] == {"candidate": {"tooluse": 0.6}, "champion": {"tooluse": 0.5}}
    assert len(out["reasons"]) == len(out["checks"])
    floor = next(c for c in out["checks"] if c["name"] == "floor:tooluse")
    assert floor == {"name": "floor:tooluse", "passed": True, "floor": 0.3, "value": 0.6,
                     "reason": floor["reason"]}


def test_malformed_to_json_is_serialisable():
    out = json.loads(json.dumps(decide({"schema_version": 1}, CFG).to_json()))
    assert out["decision"] == "reject" and out["checks"][0]["problems"]


# ------------------------------------------------ reports built to fool the gate
# Hand-built reports that the gate of d25ab3f promoted: too few paired tasks, rates out of
# range, counts that disagree. Each must be rejected, naming what is wrong.

FIFTY = [f"t{i}" for i in range(50)]
CHAMP50 = suite([1] * 25 + [0] * 25, tasks=FIFTY)  # the champion: 0.5 over 50 tasks
LENIENT = PromoteConfig(floors={"tooluse": 0.05}, tolerance=0.02, margin=0.0)


@pytest.mark.parametrize("n", [1, 2])
def test_a_few_episodes_paired_on_the_champions_easy_tasks_are_rejected(n):
    # The candidate ran n tasks, each one the champion failed too (t25..): paired there it
    # gains +1.0 and its unpaired rate 1.0 "beats" 0.5. It was never scored on the rest.
    cand = suite([1] * n, tasks=FIFTY[25:25 + n])
    d = decide(report({"tooluse": cand}, champion={"tooluse": CHAMP50}), LENIENT)
    assert d.decision == "reject"
    reg = check(d, "no_regression:tooluse")
    assert not reg.passed
    assert reg.data["paired_tasks"] == n and reg.data["missing_tasks"] == 50 - n
    assert f"ran {n} of the champion's 50 tasks" in reg.reason
    assert "same tasks" in reg.reason


def test_extra_tasks_the_champion_did_not_run_are_rejected():
    # Equal to the champion on its 50 tasks, plus 50 easy ones of its own: the unpaired
    # mean rises to 0.75 without the candidate being better anywhere both were scored.
    extra = [f"easy{i}" for i in range(50)]
    cand = suite([1] * 25 + [0] * 25 + [1] * 50, tasks=FIFTY + extra)
    d = decide(report({"tooluse": cand}, champion={"tooluse": CHAMP50}), LENIENT)
    assert d.decision == "reject"
    reg = check(d, "no_regression:tooluse")
    assert not reg.passed and reg.data["extra_tasks"] == 50 and reg.data["missing_tasks"] == 0
    assert "50 it did not run (easy0, easy1, easy10 and 47 more)" in reg.reason


def _tampered(field_updates=None, per_task=None):
    """A 10-task candidate (0.6) with no champion, its tooluse section edited."""
    r = report({"tooluse": suite(SIX)})
    section = r["policies"]["stage2"]["suites"]["tooluse"]
    if per_task is not None:
        section["per_task"] = per_task
    section.update(field_updates or {})
    return r


@pytest.mark.parametrize(
    "tamper, needle",
    [
        ({"success_rate": 7.0}, "success_rate: expected a rate in [0, 1], got 7.0"),
        ({"success_rate": -0.5}, "expected a rate in [0, 1]"),
        ({"success_rate": 0.9}, "0.9 is not the mean of its 10 per-task outcomes (0.600000)"),
        ({"episodes": 10**9, "per_task": {"t0": 1}, "success_rate": 1.0},
         "1000000000 episodes but 1 per-task outcomes"),
        ({"episodes": -3}, "episodes: expected a count"),
        ({"episodes": 2.5}, "episodes: expected a count"),
        ({"per_task": dict.fromkeys(TASKS, 100), "success_rate": 1.0}, "per_task: expected"),
        ({"per_task": {**dict.fromkeys(TASKS[:9], 1), "t9": 0.5}}, "per_task: expected"),
        ({"ci95": [-1.0, 7.0]}, "ci95: expected [lo, hi] with 0 <= lo <= hi <= 1"),
        ({"ci95": [0.9, 0.1]}, "ci95"),
    ],
)
def test_numbers_that_disagree_reject_the_report(tamper, needle):
    tamper = dict(tamper)
    r = _tampered(tamper, tamper.pop("per_task", None))
    d = decide(r, LENIENT)
    assert d.decision == "reject" and [c.name for c in d.checks] == ["well_formed"]
    assert d.reasons[0].startswith("FAIL malformed eval report")
    assert "policies.stage2.suites.tooluse." in d.reasons[0] and needle in d.reasons[0]


def test_a_tampered_champion_is_malformed_too():
    champ = {**CHAMP50, "episodes": 10**9}
    cand = suite([1] * 30 + [0] * 20, tasks=FIFTY)
    d = decide(report({"tooluse": cand}, champion={"tooluse": champ}), LENIENT)
    assert d.decision == "reject" and "policies.champion.suites.tooluse.episodes" in d.reasons[0]


def test_per_task_is_required():
    r = _tampered()
    del r["policies"]["stage2"]["suites"]["tooluse"]["per_task"]
    assert "per_task" in decide(r, LENIENT).reasons[0]


def test_every_rounded_rate_the_report_writes_is_consistent():
    """`evaluate` rounds rates to 6 digits; the consistency check must accept every one."""
    from tracer1.evaluation.report import scored_section

    for n in range(1, 61):
        for k in range(n + 1):
            outcomes = [1] * k + [0] * (n - k)
            section = {**scored_section(outcomes, confidence=0.95),
                       "per_task": dict(zip([f"t{i}" for i in range(n)], outcomes, strict=True))}
            d = decide(report({"tooluse": section}), PromoteConfig(floors={}))
            assert check(d, "well_formed").passed, (n, k, d.reasons[0])


def test_the_same_fifty_tasks_pass_the_pairing():
    cand = suite([1] * 30 + [0] * 20, tasks=FIFTY)
    d = decide(report({"tooluse": cand}, champion={"tooluse": CHAMP50}), LENIENT)
    assert d.decision == "promote"
    assert check(d, "no_regression:tooluse").data == {"tolerance": 0.02, "paired_tasks": 50,
                                                      "delta": pytest.approx(0.1)}
