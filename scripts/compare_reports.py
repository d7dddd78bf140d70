"""Did a re-run reproduce a run? Two eval reports compared task by task.

    python scripts/compare_reports.py OLD/report.json NEW/report.json [--out FILE.md]

For every policy and suite both reports scored: the successes in each, how many tasks
changed outcome (and which way), and the paired difference NEW - OLD over the shared task
ids with its Newcombe interval (`evaluation.metrics.paired_by_task`). Two reports of the
same recipe on the same seeds should differ by no more than training noise: CPU training
here is not bit-reproducible (docs/results.md), so "reproduced" means a paired interval
that holds 0, not identical tables. Both files are checked as eval reports first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tracer1.evaluation.metrics import paired_by_task
from tracer1.evaluation.report import check_report


def load_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{path}: not a readable JSON report ({exc})") from None
    problems = check_report(report)
    if problems:
        raise SystemExit(f"{path}: not an eval report:\n  " + "\n  ".join(problems))
    return report


def compare(old: dict[str, Any], new: dict[str, Any], confidence: float = 0.95) -> list[dict]:
    """One row per (policy, suite) both reports scored, in the new report's order."""
    rows = []
    for policy, section in new["policies"].items():
        before = old["policies"].get(policy)
        if before is None:
            continue
        for suite, result in section["suites"].items():
            if suite not in before["suites"]:
                continue
            a, b = result["per_task"], before["suites"][suite]["per_task"]
            shared = sorted(set(a) & set(b))
            diff = paired_by_task(a, b, confidence=confidence)
            rows.append({
                "policy": policy, "suite": suite, "tasks": len(shared),
                "old": sum(b[t] for t in shared), "new": sum(a[t] for t in shared),
                "gained": sum(1 for t in shared if a[t] > b[t]),
                "lost": sum(1 for t in shared if a[t] < b[t]),
                "difference": diff.mean, "ci": [diff.lo, diff.hi],
                "holds_zero": diff.lo <= 0 <= diff.hi,
            })
    return rows


def markdown(rows: list[dict], old: str, new: str) -> str:
    lines = [f"Paired comparison, new = `{new}`, old = `{old}` (same task ids):", "",
             "| policy | suite | old | new | tasks gained / lost | new − old (95% CI) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['policy']} | {r['suite']} | {r['old']}/{r['tasks']} | "
                     f"{r['new']}/{r['tasks']} | +{r['gained']} / −{r['lost']} | "
                     f"{r['difference']:+.2f} ({r['ci'][0]:+.2f} to {r['ci'][1]:+.2f}) |")
    held = sum(r["holds_zero"] for r in rows)
    lines += ["", f"{held} of {len(rows)} paired intervals hold 0."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    text = markdown(compare(load_report(args.old), load_report(args.new)),
                    str(args.old), str(args.new))
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
