"""The eval report contract with the gate: schema checker, files, figures, README table."""

from __future__ import annotations

import copy
import doctest
import json

import pytest

import tracer1.evaluation.report as report_module
from tracer1.evaluation.report import (
    CURVES_PLOT,
    MARKDOWN_FILE,
    METRICS_FILE,
    REPORT_FILE,
    SUCCESS_PLOT,
    build_report,
    check_report,
    flat_metrics,
    long_horizon_section,
    long_horizon_table,
    markdown_report,
    markdown_table,
    paired_sections,
    paired_table,
    scored_section,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BOOT = {"samples": 200, "confidence": 0.9, "seed": 0}


def _section(per_task: dict[str, int], step_sr: float = 0.5) -> dict:
    outcomes = list(per_task.values())
    last = list(per_task)[-1]
    return {
        **scored_section(outcomes, **BOOT),
        "mean_steps": 4.5, "repetition_rate": 0.1, "invalid_action_rate": 0.05,
        "per_task": per_task,
        "families": {"f": scored_section(outcomes, **BOOT)},
        "long_horizon": long_horizon_section({last: per_task[last]}, 3, confidence=0.9),
        "offline": {"action_type_accuracy": 0.8, "argument_accuracy": 0.75,
                    "step_success_rate": step_sr, "parse_error_rate": 0.0, "steps": 12},
    }


def _report() -> dict:
    tasks = ["tooluse/f/d1/s1", "tooluse/f/d2/s2", "tooluse/f/d3/s3"]
    return build_report(
        {"stage2": {"tooluse": _section(dict(zip(tasks, [1, 1, 0], strict=True)))},
         "reactive": {"tooluse": _section(dict(zip(tasks, [1, 0, 0], strict=True)), step_sr=0.25)}},
        split="test", confidence=0.9,
        roles={"candidate": "stage2", "baseline": "reactive", "champion": None},
    )


def test_a_built_report_follows_the_schema():
    report = _report()
    assert check_report(report) == []
    assert set(report) == {"schema_version", "split", "confidence", "policies", "roles",
                           "paired", "notes"}
    assert report["schema_version"] == 2 and report["notes"] == []
    assert report["roles"] == {"candidate": "stage2", "baseline": "reactive", "champion": None}
    section = report["policies"]["stage2"]["suites"]["tooluse"]
    assert section["ci95"][0] <= section["success_rate"] <= section["ci95"][1]


def _break(path: list, value) -> dict:
    report = copy.deepcopy(_report())
    node = report
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return report


SUITE = ["policies", "stage2", "suites", "tooluse"]


@pytest.mark.parametrize("path,value,problem", [
    (["schema_version"], 1, "schema_version"),  # schema 1: bootstrap intervals, no paired
    (["roles", "candidate"], "nobody", "roles.candidate"),
    (["roles", "candidate"], None, "roles.candidate"),
    ([*SUITE, "ci95"], [0.9, 0.1], "ci95"),
    ([*SUITE, "success_rate"], 1.5, "success_rate"),
    ([*SUITE, "per_task", "tooluse/f/d1/s1"], 2, "per_task"),
    ([*SUITE, "per_task", "tooluse/f/d9/s9"], 1, "per_task"),
    ([*SUITE, "offline"], KeyError, "offline: missing"),
    ([*SUITE, "offline", "steps"], KeyError, "offline.steps"),
    ([*SUITE, "long_horizon", "ci95"], KeyError, "long_horizon.ci95"),
    ([*SUITE, "families", "f", "episodes"], -1, "families.f.episodes"),
    ([*SUITE, "long_horizon", "tasks"], ["nope"], "long_horizon.tasks"),
    ([*SUITE, "long_horizon", "tasks"], "tooluse/f/d3/s3", "long_horizon.tasks"),
    (["paired"], KeyError, "paired: missing"),
    (["paired", "stage2-reactive", "suites", "tooluse", "all", "difference"], 0.9,
     "paired.stage2-reactive: does not match"),
    (["paired", "reactive-stage2"], {}, "paired.reactive-stage2: not a comparison"),
    (["notes"], "a string", "notes"),
    (["policies"], {}, "policies"),
])
def test_check_report_names_each_problem(path, value, problem):
    problems = check_report(_break(path, value))
    assert problems and any(problem in p for p in problems), problems


def test_policies_must_share_their_tasks():
    report = _report()
    per_task = report["policies"]["reactive"]["suites"]["tooluse"]["per_task"]
    per_task["other/task"] = per_task.pop("tooluse/f/d1/s1")
    assert any("different tasks" in p for p in check_report(report))


def test_champion_version_passes_through_for_the_gate():
    section = _section({"t": 1})
    report = build_report({"a": {"tooluse": section}, "b": {"tooluse": section}}, split="test",
                          confidence=0.95,
                          roles={"candidate": "a", "champion": "b", "champion_version": 3})
    assert report["roles"] == {"candidate": "a", "baseline": None, "champion": "b",
                               "champion_version": "3"}
    assert check_report(report) == []
    report["roles"]["champion"] = None
    assert any("champion_version" in p for p in check_report(report))


def test_build_report_refuses_a_bad_report():
    with pytest.raises(ValueError, match="roles.candidate"):
        build_report({"a": {"tooluse": _section({"t": 1})}}, split="test", confidence=0.95,
                     roles={"candidate": "b"})


def test_write_report_writes_json_metrics_and_both_figures(tmp_path):
    report = _report()
    paths = write_report(report, tmp_path / "eval",
                         curves={"stage1_grpo/anticipatory": [(0, 0.1), (10, 0.4), (20, 0.6)],
                                 "stage2_rft/anticipatory": [(0, 0.3), (10, 0.5)]})
    assert {p.name for p in paths.values()} == {REPORT_FILE, METRICS_FILE, MARKDOWN_FILE,
                                                SUCCESS_PLOT, CURVES_PLOT}
    assert paths["markdown"].read_text() == markdown_report(report)
    assert json.loads(paths["report"].read_text()) == report
    # Flat numbers only (`dvc metrics show` draws one column per key): success per suite
    # and policy, and the long-horizon subset; intervals and families stay in report.json.
    assert json.loads(paths["metrics"].read_text()) == {
        "tooluse.reactive": pytest.approx(1 / 3, abs=1e-6),
        "tooluse.stage2": pytest.approx(2 / 3, abs=1e-6),
        "tooluse.long.reactive": 0.0,
        "tooluse.long.stage2": 0.0,
    }
    for key in ("success_plot", "curves_plot"):
        data = paths[key].read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000


def test_no_curves_still_draws_a_figure(tmp_path):
    paths = write_report(_report(), tmp_path, curves=None)
    assert paths["curves_plot"].read_bytes().startswith(PNG_MAGIC)
    # Nothing but the four files, no temporary leftovers.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [REPORT_FILE, METRICS_FILE, MARKDOWN_FILE, SUCCESS_PLOT, CURVES_PLOT])


def test_write_report_refuses_a_bad_report(tmp_path):
    with pytest.raises(ValueError, match="schema"):
        write_report(_break(["roles", "candidate"], None), tmp_path)
    assert not any(tmp_path.iterdir())


def test_flat_metrics_and_markdown_table():
    report = _report()
    assert flat_metrics(report)["stage2"]["tooluse"]["success_rate"] == pytest.approx(0.666667)
    table = markdown_table(report)
    lines = table.splitlines()
    assert lines[0].startswith("| policy | suite | success | 90% CI |")
    assert len(lines) == 4
    assert "| stage2 (candidate) | tooluse | 66.7% |" in table
    assert "| reactive (baseline) | tooluse | 33.3% |" in table


def test_markdown_report_has_every_family_of_every_policy():
    report = _report()
    section = report["policies"]["reactive"]["suites"]["tooluse"]
    section["families"] = {"f": section["families"]["f"], "g": scored_section([0, 1], **BOOT)}
    text = markdown_report(report)
    assert text.startswith("# Evaluation on the test split\n")
    assert markdown_table(report) in text
    assert "## tooluse: success per task family (90% interval, episodes)" in text
    lines = text.splitlines()
    header = lines.index("| tooluse family | stage2 | reactive |")
    f_row, g_row = lines[header + 2], lines[header + 3]
    lo, hi = report["policies"]["stage2"]["suites"]["tooluse"]["families"]["f"]["ci95"]
    assert f_row.startswith(f"| f | 66.7% ({100 * lo:.1f}%–{100 * hi:.1f}%, n=3) | 33.3% (")
    assert g_row.startswith("| g | n/a | 50.0% (") and g_row.endswith("n=2) |")


# ------------------------------------------------------------------ intervals, pairs


def test_success_interval_is_wilson_and_honest_at_the_edges():
    none, every = scored_section([0] * 50, confidence=0.95), scored_section([1] * 50,
                                                                            confidence=0.95)
    assert none["ci95"][0] == 0.0 and 0.07 < none["ci95"][1] < 0.072
    assert every["ci95"][1] == 1.0 and 0.928 < every["ci95"][0] < 0.93
    # samples / seed are accepted and change nothing: no resampling.
    assert scored_section([0, 1, 1], confidence=0.9, samples=5, seed=1) == \
        scored_section([0, 1, 1], confidence=0.9)


def _ladder(outcomes: dict[str, list[int]], tasks: list[str], hard: list[str]) -> dict:
    """A report over `tasks` for the named policies (outcomes in task order)."""
    sections = {}
    for name, wins in outcomes.items():
        per_task = dict(zip(tasks, wins, strict=True))
        section = _section(per_task)
        section["long_horizon"] = long_horizon_section({t: per_task[t] for t in hard}, 3,
                                                       confidence=0.95)
        sections[name] = {"tooluse": section}
    return build_report(sections, split="test", confidence=0.95,
                        roles={"candidate": "stage2", "baseline": "reactive",
                               "champion": "champion" if "champion" in outcomes else None},
                        notes=["base: not scored"] if "base" not in outcomes else ())


TASKS20 = [f"tooluse/f/d{1 + i % 3}/s{i}" for i in range(20)]
HARD20 = [t for t in TASKS20 if "/d3/" in t]


def test_paired_ladder_baseline_and_champion():
    zeros, ones = [0] * 20, [1] * 20
    half = [i % 2 for i in range(20)]
    report = _ladder({"base": zeros, "sft": zeros, "stage1": half, "stage2": ones,
                      "reactive": half, "champion": half}, TASKS20, HARD20)
    assert check_report(report) == []
    assert list(report["paired"]) == ["stage2-stage1", "stage1-sft", "sft-base",
                                      "stage2-reactive", "stage2-champion"]
    ladder = report["paired"]["sft-base"]
    assert (ladder["a"], ladder["b"]) == ("sft", "base")
    nothing = ladder["suites"]["tooluse"]["all"]
    # Two untrained policies at 0/20: no difference, and not "exactly none" either.
    assert nothing["difference"] == 0.0 and nothing["ci95"][0] < 0.0 < nothing["ci95"][1]
    assert (nothing["a_only"], nothing["b_only"], nothing["tasks"]) == (0, 0, 20)
    up = report["paired"]["stage1-sft"]["suites"]["tooluse"]
    assert up["all"]["difference"] == 0.5 and up["all"]["ci95"][0] > 0.0
    long = up["long_horizon"]
    assert long["tasks"] == len(HARD20) and long["difficulty"] == 3
    assert long["difference"] == pytest.approx(
        sum(i % 2 for i, t in enumerate(TASKS20) if t in HARD20) / len(HARD20), abs=1e-6)


def test_paired_comparisons_only_between_scored_policies():
    report = _report()  # stage2 and reactive only
    assert list(report["paired"]) == ["stage2-reactive"]
    # A one-variant run: the baseline is the candidate itself, nothing to compare.
    section = _section({"t": 1})
    same = build_report({"stage2": {"tooluse": section}}, split="test", confidence=0.9,
                        roles={"candidate": "stage2", "baseline": "stage2"})
    assert same["paired"] == {}


def test_paired_without_long_horizon_task_ids_has_no_long_rows():
    # A hand-built section without `long_horizon.tasks` (as before schema 2) still checks.
    report = _report()
    for policy in report["policies"].values():
        del policy["suites"]["tooluse"]["long_horizon"]["tasks"]
    report["paired"] = paired_sections(report["policies"], report["roles"], confidence=0.9)
    assert check_report(report) == []
    assert set(report["paired"]["stage2-reactive"]["suites"]["tooluse"]) == {"all"}


def test_report_md_shows_long_horizon_rows_paired_table_and_notes():
    zeros, half = [0] * 20, [i % 2 for i in range(20)]
    report = _ladder({"sft": zeros, "stage1": half, "stage2": half, "reactive": zeros},
                     TASKS20, HARD20)
    text = markdown_report(report)
    assert long_horizon_table(report) in text and paired_table(report) in text
    lines = text.splitlines()
    assert "## Long-horizon tasks (each suite's highest difficulty evaluated)" in lines
    start = lines.index("| policy | suite | difficulty | long-horizon success | 95% CI | "
                        "episodes |")
    assert lines[start + 2].startswith("| sft | tooluse | 3 | 0.0% | 0.0%–")
    assert lines[start + 2].endswith(f"| {len(HARD20)} |")
    assert any(line.startswith("## Paired differences a − b on the same tasks (95% Newcombe")
               for line in lines)
    rows = [line for line in lines if line.startswith("| stage1 − sft |")]
    assert len(rows) == 2  # all tasks, then the long-horizon ones
    assert "| tooluse | 20 | +50.0 pp |" in rows[0] and rows[0].endswith("| 10 | 0 | a better |")
    assert f"| tooluse long-horizon (d3) | {len(HARD20)} |" in rows[1]
    same = next(line for line in lines if line.startswith("| stage2 − stage1 |"))
    assert "| +0.0 pp |" in same and same.endswith("| no difference shown |")
    assert lines[-3:] == ["## Notes", "", "* base: not scored"]


def test_docstring_examples():
    result = doctest.testmod(report_module)
    assert result.attempted > 0 and result.failed == 0
