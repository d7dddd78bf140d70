"""Aggregation of ablation runs: per-run metrics → intervals over seeds → the Markdown table.

Pure functions plus `load_runs` (reads the per-run JSON files `run.py` writes); no
subprocess, no training. A *run record* is one arm × training seed::

    {"schema": 1, "budget": "small", "arm": "T5", "seed": 0, "fingerprint": "…",
     "commit": "<git sha>", "seconds": 812.4, "stage_seconds": {"sft@anticipatory": 95.1, …},
     "report": <reports/eval/report.json>,
     "stages": {"stage1_grpo": <reports/stage1_grpo/anticipatory.json>, …}}

From each run's eval report the metrics of one policy and suite are read in three
groups: ``all`` (the suite's tasks), ``long`` (the report's `long_horizon` tasks:
the suite's highest difficulty evaluated — tool-use difficulty 3, MiniWoB
book-flight) and ``short`` (the rest). The report breaks down closed-loop success
only, so ``long``/``short`` carry success alone; the step metrics, repetition,
invalid actions and mean steps are per suite (``all``).

Each metric is then the mean over training seeds with a two-sided Student-t
interval at `confidence` (n − 1 degrees of freedom; rates clipped to [0, 1]).
It is an interval over seeds — the run-to-run spread of training — with the test
tasks fixed; a single seed has no interval.

>>> s = seed_interval([0.2, 0.4, 0.3])
>>> round(s["mean"], 3), round(s["lo"], 3), round(s["hi"], 3), s["n"]
(0.3, 0.052, 0.548, 3)
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA = 1
RUN_GLOB = "runs/*/s*.json"

# metric → (group it is read for, how the table shows it)
RATE = "rate"
NUMBER = "number"
REWARD = "reward"
METRICS: dict[str, str] = {
    "success_short": RATE,
    "success_long": RATE,
    "success": RATE,
    "action_type_accuracy": RATE,
    "argument_accuracy": RATE,
    "step_success_rate": RATE,
    "parse_error_rate": RATE,
    "invalid_action_rate": RATE,
    "repetition_rate": RATE,
    "mean_steps": NUMBER,
    "stage1_reward": REWARD,
    "stage1_trajectory_reward": REWARD,
}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("success_short", "success short"),
    ("success_long", "success long"),
    ("action_type_accuracy", "action-type acc."),
    ("argument_accuracy", "argument acc."),
    ("step_success_rate", "step success"),
    ("parse_error_rate", "plan parse errors"),
    ("invalid_action_rate", "invalid actions"),
    ("repetition_rate", "repetition"),
    ("mean_steps", "mean steps"),
    ("stage1_reward", "Stage-1 reward"),
)
"""The Markdown table's metric columns (results.json carries every metric)."""


# ------------------------------------------------------------------ reading


def load_runs(out_dir: str | Path) -> list[dict[str, Any]]:
    """Every run record under ``out_dir/runs/<arm>/s<seed>.json``, sorted by arm and seed."""
    records = []
    for path in sorted(Path(out_dir).glob(RUN_GLOB)):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("schema") != SCHEMA:
            raise ValueError(f"{path}: run record schema {record.get('schema')!r}, "
                             f"expected {SCHEMA}")
        records.append(record)
    return sorted(records, key=lambda r: (r["arm"], r["seed"]))


def _reward(stage: Mapping[str, Any] | None, want: str) -> float | None:
    """The Stage-1 reward over the last (up to) 10 steps: trl's weighted total
    (`want="total"`) or the trajectory reward alone (`want="trajectory"`)."""
    if not stage:
        return None
    if want == "total":
        value = stage.get("reward_last10", stage.get("reward"))
        return None if value is None else float(value)
    for key, value in sorted(stage.items()):
        if "trajectory" in key.lower() and key.endswith("_last10"):
            return float(value)
    return None


def suite_metrics(section: Mapping[str, Any]) -> dict[str, float | None]:
    """One policy's metrics on one suite, from its eval-report section.

    ``success_short`` is the success over the suite's tasks outside `long_horizon`,
    from the report's counts (None when every task is long-horizon).
    """
    long = section["long_horizon"]
    n_all, n_long = section["episodes"], long["episodes"]
    wins_short = section["success_rate"] * n_all - long["success_rate"] * n_long
    offline = section["offline"]
    has_offline = offline.get("steps", 0) > 0
    out: dict[str, float | None] = {
        "success": float(section["success_rate"]),
        "success_long": float(long["success_rate"]) if n_long else None,
        "success_short": (min(1.0, max(0.0, wins_short / (n_all - n_long)))
                          if n_all > n_long else None),
        "mean_steps": float(section["mean_steps"]),
        "repetition_rate": float(section["repetition_rate"]),
        "invalid_action_rate": float(section["invalid_action_rate"]),
    }
    for key in ("action_type_accuracy", "argument_accuracy", "step_success_rate",
                "parse_error_rate"):
        out[key] = float(offline[key]) if has_offline else None
    return out


def run_metrics(record: Mapping[str, Any], policy: str) -> dict[str, dict[str, float | None]]:
    """suite → metric → value of one policy in one run (the Stage-1 reward for every
    policy trained through Stage 1; None for SFT)."""
    suites = record["report"]["policies"].get(policy, {}).get("suites", {})
    stage1 = record.get("stages", {}).get("stage1_grpo") if policy != "sft" else None
    return {
        suite: {
            **suite_metrics(section),
            "stage1_reward": _reward(stage1, "total"),
            "stage1_trajectory_reward": _reward(stage1, "trajectory"),
        }
        for suite, section in sorted(suites.items())
    }


# ------------------------------------------------------------------ intervals


def t_quantile(p: float, df: int) -> float:
    """The Student-t quantile (scipy, imported here: only aggregation needs it)."""
    from scipy.stats import t

    return float(t.ppf(p, df))


def seed_interval(values: Sequence[float], confidence: float = 0.95, *,
                  clip: tuple[float, float] | None = None) -> dict[str, Any]:
    """Mean over seeds and its two-sided t-interval; a single value has none (lo = hi = None).

    >>> seed_interval([0.5])["lo"] is None
    True
    >>> seed_interval([0.0, 0.0, 0.0], clip=(0.0, 1.0))["hi"]
    0.0
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("an interval of no values")
    n, mean = len(values), statistics.fmean(values)
    out: dict[str, Any] = {"mean": mean, "lo": None, "hi": None, "n": n, "values": values}
    if n > 1:
        half = t_quantile((1 + confidence) / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
        lo, hi = mean - half, mean + half
        if clip is not None:
            lo, hi = max(clip[0], lo), min(clip[1], hi)
        out.update(lo=lo, hi=hi)
    return out


# ------------------------------------------------------------------ aggregation


def _suite_info(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    info: dict[str, dict[str, Any]] = {}
    for record in records:
        for policy in record["report"]["policies"].values():
            for suite, section in policy["suites"].items():
                info.setdefault(suite, {
                    "episodes": section["episodes"],
                    "long_episodes": section["long_horizon"]["episodes"],
                    "long_difficulty": section["long_horizon"].get("difficulty"),
                    "families": sorted(section["families"]),
                    "offline_steps": section["offline"]["steps"],
                })
    return dict(sorted(info.items()))


def _task_sets(records: Iterable[Mapping[str, Any]]) -> dict[str, set[frozenset[str]]]:
    sets: dict[str, set[frozenset[str]]] = {}
    for record in records:
        for policy in record["report"]["policies"].values():
            for suite, section in policy["suites"].items():
                sets.setdefault(suite, set()).add(frozenset(section["per_task"]))
    return sets


def aggregate(
    records: Sequence[Mapping[str, Any]],
    tables: Sequence[Any],
    *,
    budget: str,
    seeds: Sequence[int],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The results: every table row × suite × metric as an interval over seeds.

    `tables` are `arms.Table`s (name, title, rows of label/arm/policy). Raises when
    runs were scored on different test tasks (they would not be comparable).
    """
    by_arm: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_arm.setdefault(record["arm"], []).append(record)
    mixed = {s: len(v) for s, v in _task_sets(records).items() if len(v) > 1}
    if mixed:
        raise ValueError(f"runs were scored on different test tasks (suite: distinct sets): "
                         f"{mixed}")
    suites = _suite_info(records)
    out_tables = []
    for table in tables:
        rows = []
        for row in table.rows:
            runs = sorted(by_arm.get(row.arm, []), key=lambda r: r["seed"])
            per_run = [(r["seed"], run_metrics(r, row.policy)) for r in runs]
            for suite in suites:
                metrics = {}
                for metric, kind in METRICS.items():
                    values = [m[suite][metric] for _, m in per_run
                              if suite in m and m[suite].get(metric) is not None]
                    if values:
                        clip = (0.0, 1.0) if kind == RATE else None
                        metrics[metric] = seed_interval(values, confidence, clip=clip)
                rows.append({
                    "label": row.label, "arm": row.arm, "policy": row.policy, "suite": suite,
                    "seeds": [seed for seed, m in per_run if suite in m],
                    "metrics": metrics,
                })
        out_tables.append({"name": table.name, "title": table.title, "rows": rows})
    wanted = sorted({row.arm for table in tables for row in table.rows})
    missing = [f"{arm}/s{seed}" for arm in wanted for seed in seeds
               if seed not in {r["seed"] for r in by_arm.get(arm, [])}]
    return {
        "schema": SCHEMA,
        "budget": budget,
        "confidence": confidence,
        "interval": "mean over training seeds, two-sided Student-t interval (n-1 df); "
                    "rates clipped to [0, 1]; test tasks fixed",
        "seeds": list(seeds),
        "commits": sorted({r.get("commit", "?") for r in records}),
        "suites": suites,
        "tables": out_tables,
        "runs": [{k: r.get(k) for k in ("arm", "seed", "commit", "seconds", "stage_seconds",
                                        "exp_name")}
                 for r in sorted(records, key=lambda r: (r["arm"], r["seed"]))],
        "missing": missing,
    }


# ------------------------------------------------------------------ Markdown


def _cell(stat: Mapping[str, Any] | None, kind: str) -> str:
    if stat is None:
        return "—"
    scale, fmt = {RATE: (100.0, "{:.1f}"), NUMBER: (1.0, "{:.2f}"),
                  REWARD: (1.0, "{:.3f}")}[kind]
    text = fmt.format(scale * stat["mean"])
    if stat["lo"] is not None:
        text += f" ({fmt.format(scale * stat['lo'])}–{fmt.format(scale * stat['hi'])})"
    return text


def markdown(results: Mapping[str, Any]) -> str:
    """results.md: one table per ablation (rows × suites), then the notes and the runs."""
    level = round(100 * results["confidence"])
    n_seeds = len(results["seeds"])
    parts = [
        f"# TraceR1 ablations — budget `{results['budget']}`",
        "",
        f"Each cell: mean over {n_seeds} training seed(s) {tuple(results['seeds'])} and, with "
        f"more than one, the {level}% Student-t interval over seeds in parentheses. Rates "
        "in %. All arms scored on the same held-out test tasks:",
        "",
    ]
    for suite, info in results["suites"].items():
        parts.append(f"* `{suite}`: {info['episodes']} tasks, {info['long_episodes']} long "
                     f"(difficulty {info['long_difficulty']}); families "
                     f"{', '.join(info['families'])}; {info['offline_steps']} expert steps "
                     "scored offline")
    parts += [
        "",
        "*success short / long*: closed-loop success outside / inside the report's "
        "`long_horizon` tasks (tool use: difficulty 3, 4-6 calls; MiniWoB: book-flight). "
        "The step metrics (offline, on the test tasks' expert trajectories), plan parse "
        "errors, invalid actions, repetition and mean steps are over all of a suite's tasks: "
        "the eval report does not break them down by difficulty. *Stage-1 reward*: trl's "
        "weighted Stage-1 training reward over the last (up to) 10 steps.",
    ]
    header = "| setting | suite | " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|---|---|" + "---|" * len(COLUMNS)
    for table in results["tables"]:
        parts += ["", f"## {table['title']}", "", header, rule]
        for row in table["rows"]:
            cells = [_cell(row["metrics"].get(metric), METRICS[metric]) for metric, _ in COLUMNS]
            parts.append(f"| {row['label']} | {row['suite']} | " + " | ".join(cells) + " |")
    parts += ["", "## Runs", "", "| arm | seed | wall time | commit |", "|---|---|---|---|"]
    for run in results["runs"]:
        seconds = run.get("seconds")
        wall = f"{seconds / 60:.1f} min" if seconds is not None else "—"
        parts.append(f"| {run['arm']} | {run['seed']} | {wall} | {str(run.get('commit'))[:10]} |")
    if results["missing"]:
        parts += ["", f"**Missing runs** (not in the table): {', '.join(results['missing'])}"]
    if len(results["commits"]) > 1:
        parts += ["", f"**Mixed code versions**: runs come from commits "
                  f"{', '.join(c[:10] for c in results['commits'])}"]
    return "\n".join(parts) + "\n"


__all__ = [
    "COLUMNS", "METRICS", "SCHEMA", "aggregate", "load_runs", "markdown", "run_metrics",
    "seed_interval", "suite_metrics", "t_quantile",
]
