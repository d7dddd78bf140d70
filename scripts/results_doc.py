"""Write docs/results.md from a finished run's measured files (nothing typed in by hand).

    python scripts/results_doc.py --wall "52 min 10 s" [--root .] [--out docs/results.md]
                                  [--readme README.md]

Reads `reports/` (every stage's metrics, the eval report, the gate decision), the prompt
and plan token counts of the training windows under the prepared base's tokenizer, and
the git commit, and writes one Markdown page: what ran, how long each stage took, what the
planners learned, and what the gate decided. The README's results table (between the
`README_BEGIN` and `README_END` markers) is rewritten from the same report, so every
number the README shows comes from the run's files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

STAGES = ("sft", "stage1_grpo", "collect_feedback", "stage2_rft")
README_BEGIN = "<!-- results: written by scripts/results_doc.py from reports/eval/report.json -->"
README_END = "<!-- /results -->"
SUITE_NAMES = {"miniwob": "MiniWoB mix", "tooluse": "tool use"}
ORDER = ("base", "sft", "stage1", "stage2", "reactive", "champion")  # the recipe's order


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _commit(root: Path) -> str:
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def stage_rows(root: Path, variants: list[str]) -> list[str]:
    rows = ["| stage | variant | steps | seconds | result |", "|---|---|---|---|---|"]
    for stage in STAGES:
        for variant in variants:
            m = _json(root / "reports" / stage / f"{variant}.json")
            if not m:
                continue
            if stage == "sft":
                probe = m.get("probe", {})
                result = (f"final loss {m.get('final_loss', 0):.3f}; val probe: format-valid "
                          f"{probe.get('format_valid', 0):.0%}, trajectory reward "
                          f"{probe.get('trajectory_reward', 0):.3f}")
            elif stage == "collect_feedback":
                result = ", ".join(f"{k} {v}" for k, v in sorted(m.items())
                                   if isinstance(v, (int, float)) and k != "seconds")[:160]
            else:
                result = (f"reward first 10 steps {m.get('reward_first10', 0):.3f} → last 10 "
                          f"{m.get('reward_last10', 0):.3f}")
            rows.append(f"| `{stage}` | {variant} | {m.get('steps', '')} | "
                        f"{m.get('seconds', '')} | {result} |")
    return rows


def token_rows(root: Path, horizons: dict[str, int], history: int, budget: int) -> list[str]:
    from tracer1.policy.tokenizer import fit_prompt, load_tokenizer
    from tracer1.training.data import window_records

    tok = load_tokenizer(root / "models" / "base")
    rows = ["| variant | suite | windows | prompt tokens mean / max | plan tokens mean / max |",
            "|---|---|---|---|---|"]
    for variant, horizon in horizons.items():
        records = window_records(root / "data" / "trajectories", "train", horizon=horizon,
                                 history=history)
        for suite in sorted({r["episode_id"].split("/")[0] for r in records}):
            mine = [r for r in records if r["episode_id"].startswith(suite + "/")]
            prompts = [len(tok(fit_prompt(tok, r["prompt"], budget))["input_ids"]) for r in mine]
            plans = [len(tok(r["completion"], add_special_tokens=False)["input_ids"]) + 1
                     for r in mine]
            rows.append(f"| {variant} (T={horizon}) | {suite} | {len(mine)} | "
                        f"{statistics.mean(prompts):.0f} / {max(prompts)} | "
                        f"{statistics.mean(plans):.0f} / {max(plans)} |")
    return rows


def _cell(section: dict[str, Any]) -> str:
    """`21/50 (42%, 29–56%)`: successes of episodes, the rate and its interval."""
    n = section["episodes"]
    k = round(section["success_rate"] * n)
    lo, hi = section["ci95"]
    return f"{k}/{n} ({section['success_rate']:.0%}, {lo:.0%}–{hi:.0%})"


def readme_lines(report: dict[str, Any], source: str,
                 decision: dict[str, Any] | None = None) -> list[str]:
    """The README's results block: one row per evaluated policy, one column per suite
    (successes, rate, interval), then the candidate's success per family and, given the
    gate's `decision`, what it decided and why."""
    policies, roles = report["policies"], report.get("roles", {})
    suites = sorted({s for p in policies.values() for s in p["suites"]})
    role_of = {v: k for k, v in roles.items() if k in ("candidate", "baseline") and v}
    lines = [
        f"{source}; held-out test seeds, {report.get('confidence', 0.95):.0%} Wilson "
        "intervals:",
        "",
        "| policy | " + " | ".join(SUITE_NAMES.get(s, s) for s in suites) + " |",
        "|---|" + "---|" * len(suites),
    ]
    names = sorted(policies, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    for name in names:
        policy = policies[name]
        label = f"`{name}`" + (f", the {role_of[name]}" if name in role_of else "")
        cells = [_cell(policy["suites"][s]) if s in policy["suites"] else "—" for s in suites]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    candidate = policies.get(roles.get("candidate") or "", {}).get("suites", {})
    families = [f"{family} {round(f['success_rate'] * f['episodes'])}/{f['episodes']}"
                for s in suites for family, f in sorted(candidate.get(s, {})
                                                        .get("families", {}).items())]
    if families:
        lines += ["", "The candidate by family: " + ", ".join(families) + "."]
    if decision:
        reasons = decision.get("reasons", [])
        failed = [r for r in reasons if not r.startswith("PASS")]
        lines += ["", f"The gate: **{decision.get('decision', '?')}**"
                  + (f" ({'; '.join(failed)})." if failed else
                     f", every check passed ({len(reasons)}).")]
    return lines


def replace_block(text: str, lines: list[str], where: str = "README.md") -> str:
    """`text` with what lies between the results markers replaced by `lines`."""
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{where}: no {README_BEGIN!r} … {README_END!r} block to rewrite")
    head = text[: start + len(README_BEGIN)]
    return head + "\n" + "\n".join(lines) + "\n" + text[end:]


def main(argv: list[str] | None = None) -> None:
    from tracer1.config import load_params

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, default=Path("docs/results.md"))
    parser.add_argument("--wall", default="?", help="the measured `make run` wall time")
    parser.add_argument("--readme", type=Path, default=None,
                        help="also rewrite this README's results block (e.g. README.md)")
    args = parser.parse_args(argv)
    root = args.root
    params = load_params(root / "params.yaml")
    horizons = {v: params.forecast.horizon(v) for v in params.forecast.variants}
    decision = _json(root / "reports" / "promote" / "decision.json")
    report_md = (root / "reports" / "eval" / "report.md").read_text(encoding="utf-8")
    lines = [
        "# Results of the default run",
        "",
        f"Generated by `scripts/results_doc.py` on {dt.date.today().isoformat()} from the "
        f"files of one `make run` on a fresh clone of commit `{_commit(root)}` (2 CPU cores, "
        f"no GPU), which took **{args.wall}** including the venv bootstrap. "
        "Held-out test seeds; no number here was tuned on them.",
        "",
        "## Token budget (training windows, SmolLM2 tokenizer, chat template included)",
        "",
        *token_rows(root, horizons, params.forecast.history, params.policy.max_prompt_tokens),
        "",
        "## Stages",
        "",
        *stage_rows(root, list(horizons)),
        "",
        "## Gate",
        "",
        f"Decision: **{decision.get('decision', '?')}**.",
        "",
        *[f"- {reason}" for reason in decision.get("reasons", [])],
        "",
        "## Evaluation (`reports/eval/report.md`)",
        "",
        report_md.replace("\n# ", "\n### ").replace("\n## ", "\n### "),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.readme is not None:
        report = _json(root / "reports" / "eval" / "report.json")
        source = (f"Measured {dt.date.today().isoformat()}, `make run` on a fresh clone of "
                  f"`{_commit(root)}` ({args.wall}, 2 CPU cores)")
        text = replace_block(args.readme.read_text(encoding="utf-8"),
                             readme_lines(report, source, decision), str(args.readme))
        args.readme.write_text(text, encoding="utf-8")
        print(f"rewrote the results block of {args.readme}")


if __name__ == "__main__":
    main()
