"""scripts/results_doc.py: the README's results block is written from the eval report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("results_doc", ROOT / "scripts" / "results_doc.py")
results_doc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results_doc)


def _suite(rate: float, n: int, lo: float, hi: float, families=None) -> dict:
    out = {"success_rate": rate, "episodes": n, "ci95": [lo, hi]}
    if families:
        out["families"] = families
    return out


REPORT = {
    "confidence": 0.95,
    "roles": {"candidate": "stage2", "baseline": "reactive", "champion": None},
    "policies": {
        "sft": {"suites": {"miniwob": _suite(0.42, 50, 0.294, 0.558),
                           "tooluse": _suite(0.0, 50, 0.0, 0.071)}},
        "stage2": {"suites": {
            "miniwob": _suite(0.4, 50, 0.276, 0.538, {
                "click-button": {"success_rate": 0.8, "episodes": 10, "ci95": [0.49, 0.94]}}),
            "tooluse": _suite(0.02, 50, 0.004, 0.105)}},
        "reactive": {"suites": {"miniwob": _suite(0.3, 50, 0.191, 0.438)}},
    },
}


def test_one_row_per_policy_with_counts_rates_and_intervals():
    lines = results_doc.readme_lines(REPORT, "Measured today")
    assert lines[0].startswith("Measured today; held-out test seeds, 95% Wilson")
    assert lines[2] == "| policy | MiniWoB mix | tool use |"
    assert "| `sft` | 21/50 (42%, 29%–56%) | 0/50 (0%, 0%–7%) |" in lines
    assert "| `stage2`, the candidate | 20/50 (40%, 28%–54%) | 1/50 (2%, 0%–10%) |" in lines
    assert "| `reactive`, the baseline | 15/50 (30%, 19%–44%) | — |" in lines  # no tool run
    assert lines[-1] == "The candidate by family: click-button 8/10."


def test_the_gate_line_names_the_failed_checks():
    passed = {"decision": "promote", "reasons": ["PASS a", "PASS b"]}
    assert results_doc.readme_lines(REPORT, "x", passed)[-1] == (
        "The gate: **promote**, every check passed (2).")
    rejected = {"decision": "reject", "reasons": ["PASS a", "FAIL tooluse: below floor"]}
    assert results_doc.readme_lines(REPORT, "x", rejected)[-1] == (
        "The gate: **reject** (FAIL tooluse: below floor).")


def test_the_block_is_replaced_in_place_and_a_second_write_changes_nothing():
    text = (f"# x\n\nbefore\n{results_doc.README_BEGIN}\nold table\n"
            f"{results_doc.README_END}\nafter\n")
    once = results_doc.replace_block(text, ["new", "table"])
    assert once == (f"# x\n\nbefore\n{results_doc.README_BEGIN}\nnew\ntable\n"
                    f"{results_doc.README_END}\nafter\n")
    assert results_doc.replace_block(once, ["new", "table"]) == once


def test_a_readme_without_the_markers_is_refused_by_name():
    with pytest.raises(ValueError, match="docs/X.md: no .*results"):
        results_doc.replace_block("# no block\n", ["t"], "docs/X.md")


def test_the_readme_has_one_block_for_the_script_to_write():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(results_doc.README_BEGIN) == 1
    assert text.count(results_doc.README_END) == 1
    assert text.index(results_doc.README_BEGIN) < text.index(results_doc.README_END)
