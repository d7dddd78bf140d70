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
    markdown_report,
    markdown_table,
    scored_section,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BOOT = {"samples": 200, "confidence": 0.9, "seed": 0}


def _section(per_task: dict[str, int], step_sr: float = 0.5) -> dict:
    outcomes = list(per_task.values())
    return {
        **scored_section(outcomes, **BOOT),
        "mean_steps": 4.5, "repetition_rate": 0.1, "invalid_action_rate": 0.05,
        "per_task": per_task,
        "families": {"f": scored_section(outcomes, **BOOT)},
        "long_horizon": {**scored_section(outcomes[-1:], **BOOT), "difficulty": 3},
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
    assert set(report) == {"schema_version", "split", "confidence", "policies", "roles"}
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
    (["schema_version"], 2, "schema_version"),
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
    assert json.loads(paths["metrics"].read_text()) == {
        "reactive": {"tooluse": {"success_rate": pytest.approx(1 / 3, abs=1e-6),
                                 "offline_step_success_rate": 0.25}},
        "stage2": {"tooluse": {"success_rate": pytest.approx(2 / 3, abs=1e-6),
                               "offline_step_success_rate": 0.5}},
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


def test_docstring_examples():
    result = doctest.testmod(report_module)
    assert result.attempted > 0 and result.failed == 0
