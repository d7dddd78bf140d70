"""Imported suites in `evaluate`: scored offline only, under the benchmarks' conventions,
in a report the schema checker accepts and the gate reads unchanged."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from tests.fakes import ExpertPlanner, GarbagePlanner, RepeatPlanner, _Recording, make_tasks
from tests.helpers import REPO
from tracer1.actions import Answer, Click, format_plan
from tracer1.config import (
    BuildDatasetConfig,
    EvaluateConfig,
    ImportSourceConfig,
    PromoteConfig,
    SeedRange,
    SplitSeeds,
)
from tracer1.data.build import expert_episode
from tracer1.data.importers import import_dataset
from tracer1.data.jsonl import read_episodes
from tracer1.envs import get_suite
from tracer1.evaluation.harness import evaluate_planners
from tracer1.evaluation.offline import Prediction, convention_metrics
from tracer1.evaluation.report import (
    build_report,
    check_report,
    flat_metrics,
    markdown_report,
    paired_sections,
)
from tracer1.evaluation.tasks import offline_episodes, split_tasks
from tracer1.registry.gate import decide
from tracer1.trajectory import Episode, Observation, Step

FIXTURES = REPO / "data" / "fixtures" / "importers"
SUITE = get_suite("tooluse")
TASKS = make_tasks(SUITE, range(230, 232))
HELDOUT = {"tooluse": [expert_episode(SUITE, t, "test", 30) for t in TASKS[:2]]}
CFG = EvaluateConfig(episode_limit=10, bootstrap_samples=200, confidence=0.9, seed=0)
ROLES = {"candidate": "stage2", "baseline": "reactive", "champion": "champion"}


class ReplayPlanner(_Recording):
    """Forecasts the recorded expert action of an imported step, clicks moved by `shift`."""

    def __init__(self, episodes, *, shift: int = 0):
        super().__init__(5, 4)
        self.shift = shift
        self.known = {(e.instruction, t): s.action for e in episodes
                      for t, s in enumerate(e.steps)}

    def forecast(self, request):
        action = self.known.get((request.instruction, len(request.history)))
        if action is None:
            return "no plan"
        if isinstance(action, Click):
            action = Click(min(1000, action.x + self.shift), action.y)
        return format_plan([action])


class ExpertEverywhere(ReplayPlanner):
    """The tool-use expert on live tasks, the recorded reference on imported steps."""

    def __init__(self, episodes):
        super().__init__(episodes)
        self.expert = ExpertPlanner(SUITE, TASKS)

    def forecast(self, request):
        if request.instruction in self.expert.tasks:
            return self.expert.forecast(request)
        return super().forecast(request)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Imported suite → every episode of its committed fixture (all splits)."""
    root = tmp_path_factory.mktemp("imported")
    options = {"gui_odyssey": {"split_file": "random_split"}}
    out = {}
    for name in ("gui_odyssey", "gaia", "gta"):
        import_dataset(name, FIXTURES / name, root / name, options=options.get(name))
        out[name] = [e for s in ("train", "val", "test")
                     for e in read_episodes(root / name / f"{s}.jsonl")]
    return out


@pytest.fixture(scope="module")
def report(imported):
    every = [e for eps in imported.values() for e in eps]
    planners = {"stage2": ExpertEverywhere(every), "reactive": ReplayPlanner(every),
                "champion": RepeatPlanner(), "shifted": ReplayPlanner(every, shift=100),
                "garbage": GarbagePlanner()}
    return evaluate_planners(planners, {"tooluse": TASKS}, HELDOUT, CFG, roles=ROLES,
                             offline_only=imported)


def _imported(report, policy, suite):
    return report["policies"][policy]["offline_only"][suite]


def test_the_report_keeps_its_schema_with_imported_suites(report, imported):
    assert check_report(report) == []
    for policy in report["policies"].values():
        assert set(policy["suites"]) == {"tooluse"}
        assert set(policy["offline_only"]) == set(imported)
    section = _imported(report, "garbage", "gta")
    assert section["episodes"] == len(imported["gta"])
    assert section["offline"]["steps"] == sum(len(e.steps) for e in imported["gta"])


def test_each_suite_is_scored_by_its_benchmark_conventions(report):
    groups = {s: set(sec["offline"]["conventions"])
              for s, sec in report["policies"]["reactive"]["offline_only"].items()}
    assert groups == {"gui_odyssey": {"step"}, "gaia": {"step", "answer_exact"},
                      "gta": {"step", "tool", "answer_phrases"}}
    closed_loop = report["policies"]["stage2"]["suites"]["tooluse"]["offline"]
    assert set(closed_loop["conventions"]) == {"step", "tool"}
    assert closed_loop["conventions"]["tool"]["tool_accuracy"] == 1.0


def test_the_reference_scores_one_and_garbage_zero(report):
    for suite in ("gui_odyssey", "gaia", "gta"):
        right = _imported(report, "reactive", suite)["offline"]
        wrong = _imported(report, "garbage", suite)["offline"]
        assert right["step_success_rate"] == 1.0 and wrong["step_success_rate"] == 0.0
        assert right["conventions"]["step"]["step_success_rate"] == 1.0
        assert wrong["conventions"]["step"]["action_type_accuracy"] == 0.0
    gaia = _imported(report, "reactive", "gaia")["offline"]["conventions"]["answer_exact"]
    assert gaia == {"accuracy": 1.0, "answers": 3}


def test_clicks_within_14_percent_are_grounded_under_the_convention_only(report):
    """A click 100 grid units off (GUI-Odyssey has no boxes): right by AndroidControl's rule,
    wrong by the repo's own exact-match scorer."""
    far = _imported(report, "shifted", "gui_odyssey")["offline"]
    assert far["conventions"]["step"]["grounding_accuracy"] == 1.0
    assert far["conventions"]["step"]["step_success_rate"] == 1.0
    assert far["step_success_rate"] < 1.0


def test_answer_conventions_on_hand_made_steps():
    def predict(suite, reference, said, meta=None):
        ep = Episode(f"{suite}/q", suite, "f", 1, "test", "Q?",
                     (Step(0, Observation(""), reference),), True, meta=meta or {})
        return convention_metrics(suite, [Prediction(ep, 0, format_plan([said]))])

    gaia = predict("gaia", Answer("1000"), Answer("$1,000"))
    assert gaia["answer_exact"] == {"accuracy": 1.0, "answers": 1}
    assert predict("gaia", Answer("Paris"), Answer("Lyon"))["answer_exact"]["accuracy"] == 0.0
    white = {"gt_answer": {"whitelist": [["12", "twelve"]], "blacklist": [["13"]]}}
    assert predict("gta", Answer("x"), Answer("It is twelve"), white)["answer_phrases"] == \
        {"accuracy": 1.0, "answers": 1}
    assert predict("gta", Answer("x"), Answer("12 or 13"), white)["answer_phrases"]["accuracy"] \
        == 0.0
    # Image generation: no gt_answer, nothing to check - not a miss.
    assert predict("gta", Answer("x"), Answer("done"))["answer_phrases"] == \
        {"accuracy": 0.0, "answers": 0}


def test_the_gate_decides_on_closed_loop_suites_alone(report):
    plain = copy.deepcopy(report)
    for policy in plain["policies"].values():
        del policy["offline_only"]
    cfg = PromoteConfig(floors={"tooluse": 0.5})
    with_imports, without = decide(report, cfg), decide(plain, cfg)
    assert with_imports.promoted and with_imports.reasons == without.reasons
    # Nothing closed-loop at all: a valid report, which the gate rejects (never raises).
    only = copy.deepcopy(report)
    for policy in only["policies"].values():
        policy["suites"] = {}
    # The paired differences follow the outcomes: none left to compare.
    only["paired"] = paired_sections(only["policies"], only["roles"], confidence=0.9)
    assert all(p["suites"] == {} for p in only["paired"].values())
    assert check_report(only) == []
    decision = decide(only, cfg)
    assert not decision.promoted and "suites: expected a non-empty object" in decision.reasons[0]


@pytest.mark.parametrize("mutate,problem", [
    (lambda r: r["policies"]["stage2"]["offline_only"]["gaia"]["offline"]["conventions"]
     ["step"].update(step_success_rate=1.5),
     "policies.stage2.offline_only.gaia.offline.conventions.step.step_success_rate: not a rate"),
    (lambda r: r["policies"]["stage2"]["offline_only"]["gaia"]["offline"]["conventions"]
     ["answer_exact"].update(answers=-1),
     "offline_only.gaia.offline.conventions.answer_exact.answers: not a count"),
    (lambda r: r["policies"]["stage2"]["offline_only"]["gta"]["offline"].pop("conventions"),
     "policies.stage2.offline_only.gta.offline.conventions: missing"),
    (lambda r: r["policies"]["stage2"]["offline_only"].update(
        tooluse=r["policies"]["stage2"]["offline_only"]["gaia"]),
     "policies.stage2.offline_only.tooluse: also a closed-loop suite of this policy"),
    (lambda r: r["policies"]["reactive"]["offline_only"]["gaia"].update(episodes=99),
     "policies.*.offline_only: policies scored different imported episodes"),
    (lambda r: r["policies"]["stage2"]["suites"]["tooluse"]["offline"].update(
        conventions={"step": {}}),
     "suites.tooluse.offline.conventions.step: expected a non-empty object"),
])
def test_check_report_names_each_broken_imported_field(report, mutate, problem):
    broken = copy.deepcopy(report)
    mutate(broken)
    assert any(problem in p for p in check_report(broken)), check_report(broken)
    with pytest.raises(ValueError, match="breaks its schema"):
        build_report({n: p["suites"] for n, p in broken["policies"].items()}, split="test",
                     confidence=0.9, roles=ROLES,
                     offline_only={n: p["offline_only"] for n, p in broken["policies"].items()})


def test_markdown_and_flat_metrics_show_the_imported_suites(report):
    text = markdown_report(report)
    assert "## gui_odyssey: benchmark conventions (imported, offline only" in text
    assert "## tooluse: benchmark conventions (offline" in text
    row = next(line for line in text.splitlines() if line.startswith("| shifted |")
               and "%" in line and text.index(line) > text.index("## gui_odyssey: bench"))
    assert "100.0%" in row
    flat = flat_metrics(report)["reactive"]
    assert "success_rate" not in flat["gaia"] and flat["gaia"]["offline_step_success_rate"] == 1.0
    assert flat["gaia"]["conventions"]["answer_exact"]["accuracy"] == 1.0


def test_a_suite_cannot_be_both_closed_loop_and_offline_only(imported):
    with pytest.raises(ValueError, match="both closed-loop and offline-only"):
        evaluate_planners({"stage2": GarbagePlanner()}, {"tooluse": TASKS[:1]}, {}, CFG,
                          offline_only={"tooluse": imported["gaia"]})
    # An imported suite with no held-out episode is left out, not an empty section.
    plain = evaluate_planners({"stage2": GarbagePlanner()}, {"tooluse": TASKS[:1]}, {}, CFG,
                              offline_only={"gaia": []})
    assert check_report(plain) == [] and "offline_only" not in plain["policies"]["stage2"]


def test_closed_loop_tasks_never_include_imported_suites(imported):
    build = BuildDatasetConfig(
        seeds=SplitSeeds(SeedRange(0, 2), SeedRange(2, 3), SeedRange(3, 4)),
        imports={"q": ImportSourceConfig(format="gaia", path="x"),
                 "t": ImportSourceConfig(format="gta", path="y")})
    for split in ("train", "test"):  # feedback collection's and evaluation's
        assert set(split_tasks(build, split, 1)) == {"tooluse"}
    episodes = [*HELDOUT["tooluse"], *imported["gaia"], *imported["gta"]]
    chosen = offline_episodes(build, episodes)
    # Every imported episode of the fixtures (GAIA's include one withheld-answer test question).
    assert {k: len(v) for k, v in chosen.items()} == {"gaia": len(imported["gaia"]),
                                                      "gta": len(imported["gta"])}
    capped = offline_episodes(build, episodes, per_family=1)
    assert len(capped["gta"]) == 1  # one family ("gta")
    assert offline_episodes(dataclasses.replace(build, imports={}), episodes) == {}
