"""scripts/compare_reports.py: two eval reports compared task by task."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tracer1.evaluation.report import build_report, long_horizon_section, scored_section

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("compare_reports",
                                               ROOT / "scripts" / "compare_reports.py")
compare_reports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_reports)

TASKS = [f"tooluse/f/d1/s{i}" for i in range(20)]


def _section(outcomes: list[int]) -> dict:
    per_task = dict(zip(TASKS, outcomes, strict=True))
    boot = {"samples": 50, "confidence": 0.95, "seed": 0}
    return {
        **scored_section(outcomes, **boot),
        "mean_steps": 3.0, "repetition_rate": 0.0, "invalid_action_rate": 0.0,
        "per_task": per_task, "families": {"f": scored_section(outcomes, **boot)},
        "long_horizon": long_horizon_section({}, 3, confidence=0.95),
        "offline": {"action_type_accuracy": 1.0, "argument_accuracy": 1.0,
                    "step_success_rate": 1.0, "parse_error_rate": 0.0, "steps": 4},
    }


def _report(stage2: list[int], reactive: list[int]) -> dict:
    return build_report({"stage2": {"tooluse": _section(stage2)},
                         "reactive": {"tooluse": _section(reactive)}},
                        split="test", confidence=0.95,
                        roles={"candidate": "stage2", "baseline": "reactive", "champion": None})


def test_a_rerun_with_a_few_flipped_tasks_holds_zero_and_counts_the_flips():
    old = _report([1] * 10 + [0] * 10, [1] * 5 + [0] * 15)
    new = _report([1] * 9 + [0, 1] + [0] * 9, [1] * 5 + [0] * 15)  # one lost, one gained
    rows = {r["policy"]: r for r in compare_reports.compare(old, new)}
    assert (rows["stage2"]["old"], rows["stage2"]["new"]) == (10, 10)
    assert (rows["stage2"]["gained"], rows["stage2"]["lost"]) == (1, 1)
    assert rows["stage2"]["difference"] == 0 and rows["stage2"]["holds_zero"]
    assert rows["reactive"]["ci"][0] < 0 < rows["reactive"]["ci"][1]


def test_a_real_change_does_not_hold_zero():
    rows = compare_reports.compare(_report([0] * 20, [0] * 20), _report([1] * 20, [0] * 20))
    stage2 = next(r for r in rows if r["policy"] == "stage2")
    assert stage2["difference"] == 1.0 and not stage2["holds_zero"]
    assert "1 of 2 paired intervals hold 0." in compare_reports.markdown(rows, "a", "b")


def test_a_file_that_is_not_an_eval_report_is_named(tmp_path):
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"schema_version": 2}), encoding="utf-8")
    with pytest.raises(SystemExit, match="report.json: not an eval report"):
        compare_reports.load_report(bad)
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(SystemExit, match="not a readable JSON report"):
        compare_reports.load_report(bad)


def test_the_command_line_writes_the_table(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_report([1] * 20, [0] * 20)), encoding="utf-8")
    new.write_text(json.dumps(_report([1] * 19 + [0], [0] * 20)), encoding="utf-8")
    out = tmp_path / "cmp.md"
    assert compare_reports.main([str(old), str(new), "--out", str(out)]) == 0
    assert "| stage2 | tooluse | 20/20 | 19/20 | +0 / −1 |" in out.read_text(encoding="utf-8")
    assert "2 of 2 paired intervals hold 0." in capsys.readouterr().out
