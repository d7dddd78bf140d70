"""The eval report: its schema (the contract with the promotion gate), checker and files.

```
{"schema_version": 1, "split": "test", "confidence": 0.95,
 "policies": {"<name>": {"suites": {"<suite>": {
     "success_rate": float, "ci95": [lo, hi], "episodes": int, "mean_steps": float,
     "repetition_rate": float, "invalid_action_rate": float,
     "per_task": {"<task_id>": 0 | 1, ...},
     "families": {"<family>": {"success_rate", "ci95", "episodes"}},
     "long_horizon": {"success_rate", "ci95", "episodes", "difficulty"},
     "offline": {"action_type_accuracy", "argument_accuracy", "step_success_rate",
                 "parse_error_rate", "steps",
                 "conventions": {"<group>": {"<rate>": float, "steps" | "answers": int}}}}},
   "offline_only": {"<suite>": {           # optional: imported datasets, no live environment
     "episodes": int, "offline": {...as above, "conventions" required}}}}},
 "roles": {"candidate": "<name>", "baseline": "<name>" | null, "champion": "<name>" | null,
           "champion_version": "<registry version>"   # optional: which champion was scored
 }}
```

`ci95` is the percentile-bootstrap interval at the report's `confidence` (the key
keeps its name whatever the level). Every policy of a suite is scored on the same
task ids (`per_task`), so the gate can compare policies paired, task by task.
`long_horizon` covers the suite's tasks of the highest difficulty evaluated
(`difficulty` says which). `offline.steps == 0` means no held-out episodes.

`offline.conventions` (optional) scores the same first actions under the public
benchmarks' rules (`evaluation.offline.CONVENTION_GROUPS`: ``step`` - action-type,
grounding with the 14% rule, step success; ``tool``; ``answer_exact``;
``answer_phrases``); counts are the `CONVENTION_COUNT_KEYS`, everything else a rate.
`offline_only` holds the imported suites: scored offline on the split's recorded
episodes only, every policy on the same ones. The gate reads `suites` alone (a
closed-loop success rate is what it compares), so an imported suite never
decides a promotion; a policy with only `offline_only` suites is a valid report the
gate rejects (nothing closed-loop to judge).

`write_report` writes `report.json`, a flat `metrics.json` for `dvc metrics show`,
`report.md` (the tables a person reads: every policy per suite, then per task family
with intervals) and two figures: `success_by_policy.png` and `training_curves.png`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tracer1.evaluation.metrics import bootstrap_ci, success_rate
from tracer1.io import atomic_open, write_json

SCHEMA_VERSION = 1
REPORT_FILE = "report.json"
METRICS_FILE = "metrics.json"
MARKDOWN_FILE = "report.md"
SUCCESS_PLOT = "success_by_policy.png"
CURVES_PLOT = "training_curves.png"
ROLES = ("candidate", "baseline", "champion")
CHAMPION_VERSION = "champion_version"  # optional key of `roles`
SCORED_KEYS = ("success_rate", "ci95", "episodes")
RATE_KEYS = ("success_rate", "mean_steps", "repetition_rate", "invalid_action_rate")
OFFLINE_KEYS = (
    "action_type_accuracy", "argument_accuracy", "step_success_rate", "parse_error_rate", "steps",
)
SUITE_KEYS = (*SCORED_KEYS, *RATE_KEYS[1:], "per_task", "families", "long_horizon", "offline")
OFFLINE_ONLY = "offline_only"  # optional key of a policy: its imported suites
CONVENTIONS = "conventions"  # optional key of an `offline` section (required offline-only)
CONVENTION_COUNT_KEYS = frozenset({"steps", "answers"})
"""Keys of a conventions group that are counts (denominators); the rest are rates."""
DIGITS = 6  # rounding of every float in the report: stable diffs, no float noise


def _round(value: float) -> float:
    return round(float(value), DIGITS)


def scored_section(
    outcomes: Sequence[float], *, samples: int, confidence: float, seed: int
) -> dict[str, Any]:
    """`{"success_rate", "ci95", "episodes"}` of a list of 0/1 outcomes."""
    lo, hi = bootstrap_ci(outcomes, samples=samples, confidence=confidence, seed=seed)
    return {
        "success_rate": _round(success_rate(outcomes)),
        "ci95": [_round(lo), _round(hi)],
        "episodes": len(outcomes),
    }


def offline_only_section(episodes: int, offline: Mapping[str, Any],
                         conventions: Mapping[str, Mapping[str, float | int]]) -> dict[str, Any]:
    """One policy's section for one imported suite: offline metrics and its conventions."""
    return {"episodes": episodes,
            "offline": {**{k: offline[k] for k in OFFLINE_KEYS}, CONVENTIONS: dict(conventions)}}


def build_report(
    policies: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    split: str,
    confidence: float,
    roles: Mapping[str, str | None],
    offline_only: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Assemble the report from policy → suite → suite section (and, for imported suites,
    policy → suite → `offline_only_section`); raises if it breaks the schema."""
    sections: dict[str, dict[str, Any]] = {
        name: {"suites": dict(suites)} for name, suites in policies.items()}
    for name, suites in (offline_only or {}).items():
        if suites:
            sections.setdefault(name, {"suites": {}})[OFFLINE_ONLY] = dict(suites)
    report = {
        "schema_version": SCHEMA_VERSION,
        "split": split,
        "confidence": float(confidence),
        "policies": sections,
        "roles": {role: roles.get(role) for role in ROLES},
    }
    if roles.get(CHAMPION_VERSION) is not None:
        # Lets the gate check that the report scored the champion the registry holds now.
        report["roles"][CHAMPION_VERSION] = str(roles[CHAMPION_VERSION])
    problems = check_report(report)
    if problems:
        raise ValueError("eval report breaks its schema:\n  " + "\n  ".join(problems))
    return report


# ------------------------------------------------------------------ checking


def _is_rate(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_scored(section: Any, where: str) -> list[str]:
    if not isinstance(section, Mapping):
        return [f"{where}: expected an object"]
    problems = [f"{where}.{k}: missing" for k in SCORED_KEYS if k not in section]
    if problems:
        return problems
    ci = section["ci95"]
    if not _is_rate(section["success_rate"]):
        problems.append(f"{where}.success_rate: not a rate in [0, 1]")
    if not (isinstance(ci, list | tuple) and len(ci) == 2 and all(map(_is_rate, ci))
            and ci[0] <= ci[1]):
        problems.append(f"{where}.ci95: expected [lo, hi] with 0 <= lo <= hi <= 1, got {ci!r}")
    if not _is_count(section["episodes"]):
        problems.append(f"{where}.episodes: not a count")
    return problems


def _check_suite(section: Any, where: str) -> list[str]:
    if not isinstance(section, Mapping):
        return [f"{where}: expected an object"]
    missing = [f"{where}.{k}: missing" for k in SUITE_KEYS if k not in section]
    if missing:
        return missing
    problems = _check_scored(section, where)
    for key in ("repetition_rate", "invalid_action_rate"):
        if not _is_rate(section[key]):
            problems.append(f"{where}.{key}: not a rate in [0, 1]")
    if not isinstance(section["mean_steps"], int | float) or section["mean_steps"] < 0:
        problems.append(f"{where}.mean_steps: not a non-negative number")
    per_task = section["per_task"]
    if not isinstance(per_task, Mapping) or any(v not in (0, 1) for v in per_task.values()):
        problems.append(f"{where}.per_task: expected task id → 0 | 1")
    elif len(per_task) != section["episodes"]:
        problems.append(f"{where}.per_task: {len(per_task)} tasks but {section['episodes']} "
                        "episodes")
    families = section["families"]
    if not isinstance(families, Mapping):
        problems.append(f"{where}.families: expected an object")
    else:
        for family, sub in families.items():
            problems += _check_scored(sub, f"{where}.families.{family}")
    problems += _check_scored(section["long_horizon"], f"{where}.long_horizon")
    return problems + _check_offline(section["offline"], f"{where}.offline")


def _check_offline(offline: Any, where: str, *, conventions: bool = False) -> list[str]:
    """An `offline` section; `conventions` is required when `conventions` is True."""
    if not isinstance(offline, Mapping):
        return [f"{where}: expected an object"]
    problems = [f"{where}.{k}: missing" for k in OFFLINE_KEYS if k not in offline]
    problems += [f"{where}.{k}: not a rate in [0, 1]" for k in OFFLINE_KEYS[:-1]
                 if k in offline and not _is_rate(offline[k])]
    if "steps" in offline and not _is_count(offline["steps"]):
        problems.append(f"{where}.steps: not a count")
    if CONVENTIONS in offline:
        problems += _check_conventions(offline[CONVENTIONS], f"{where}.{CONVENTIONS}")
    elif conventions:
        problems.append(f"{where}.{CONVENTIONS}: missing")
    return problems


def _check_conventions(groups: Any, where: str) -> list[str]:
    if not isinstance(groups, Mapping) or not groups:
        return [f"{where}: expected a non-empty object of metric groups"]
    problems = []
    for group, metrics in groups.items():
        at = f"{where}.{group}"
        if not isinstance(metrics, Mapping) or not metrics:
            problems.append(f"{at}: expected a non-empty object of metrics")
            continue
        for key, value in metrics.items():
            if key in CONVENTION_COUNT_KEYS and not _is_count(value):
                problems.append(f"{at}.{key}: not a count")
            elif key not in CONVENTION_COUNT_KEYS and not _is_rate(value):
                problems.append(f"{at}.{key}: not a rate in [0, 1]")
    return problems


def _check_offline_only(suites: Any, closed_loop: Mapping[str, Any], where: str) -> list[str]:
    if not isinstance(suites, Mapping) or not suites:
        return [f"{where}: expected a non-empty object of imported suites"]
    problems = []
    for suite, section in suites.items():
        at = f"{where}.{suite}"
        if suite in closed_loop:
            problems.append(f"{at}: also a closed-loop suite of this policy")
        if not isinstance(section, Mapping):
            problems.append(f"{at}: expected an object")
            continue
        problems += [f"{at}.{k}: missing" for k in ("episodes", "offline") if k not in section]
        if "episodes" in section and not _is_count(section["episodes"]):
            problems.append(f"{at}.episodes: not a count")
        if "offline" in section:
            problems += _check_offline(section["offline"], f"{at}.offline", conventions=True)
    return problems


def _check_same_offline_only(policies: Mapping[str, Any]) -> list[str]:
    """Every policy scored on the same imported suites, episodes and steps."""
    shapes = {
        name: {suite: (s["episodes"], s["offline"]["steps"])
               for suite, s in policy.get(OFFLINE_ONLY, {}).items()}
        for name, policy in policies.items()
    }
    if len({tuple(sorted(v.items())) for v in shapes.values()}) <= 1:
        return []
    sizes = ", ".join(f"{n}: {dict(sorted(v.items()))}" for n, v in sorted(shapes.items()))
    return [f"policies.*.{OFFLINE_ONLY}: policies scored different imported episodes "
            f"(suite: (episodes, steps)) {sizes}"]


def _check_same_tasks(policies: Mapping[str, Any]) -> list[str]:
    """Every policy of a suite must be scored on the same task ids (paired comparison)."""
    ids: dict[str, dict[str, frozenset]] = defaultdict(dict)
    for name, policy in policies.items():
        for suite, section in policy["suites"].items():
            ids[suite][name] = frozenset(section["per_task"])
    problems = []
    for suite, by_policy in sorted(ids.items()):
        if len(set(by_policy.values())) > 1:
            sizes = ", ".join(f"{n}: {len(v)}" for n, v in sorted(by_policy.items()))
            problems.append(f"policies.*.suites.{suite}.per_task: policies ran different tasks "
                            f"({sizes})")
    return problems


def check_report(report: Any) -> list[str]:
    """Every way `report` breaks the schema, as ``path: problem`` lines; [] when it is valid."""
    if not isinstance(report, Mapping):
        return ["<report>: expected an object"]
    problems = [f"{k}: missing" for k in ("schema_version", "split", "confidence", "policies",
                                          "roles") if k not in report]
    if problems:
        return problems
    if report["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version: expected {SCHEMA_VERSION}, got "
                        f"{report['schema_version']!r}")
    if not isinstance(report["split"], str):
        problems.append("split: expected a string")
    if not _is_rate(report["confidence"]) or report["confidence"] in (0, 1):
        problems.append("confidence: expected a number in (0, 1)")
    policies = report["policies"]
    if not isinstance(policies, Mapping) or not policies:
        return [*problems, "policies: expected a non-empty object"]
    for name, policy in policies.items():
        suites = policy.get("suites") if isinstance(policy, Mapping) else None
        imported = policy.get(OFFLINE_ONLY) if isinstance(policy, Mapping) else None
        # Only imported suites (no live environment) is a report; the gate rejects it.
        if not isinstance(suites, Mapping) or not (suites or imported):
            problems.append(f"policies.{name}.suites: expected a non-empty object")
            continue
        for suite, section in suites.items():
            problems += _check_suite(section, f"policies.{name}.suites.{suite}")
        if OFFLINE_ONLY in policy:
            problems += _check_offline_only(imported, suites, f"policies.{name}.{OFFLINE_ONLY}")
    if not problems:
        problems += _check_same_tasks(policies)
        problems += _check_same_offline_only(policies)
    roles = report["roles"]
    if not isinstance(roles, Mapping):
        return [*problems, "roles: expected an object"]
    for role in ROLES:
        name = roles.get(role)
        if role == "candidate" and name is None:
            problems.append("roles.candidate: missing")
        elif name is not None and name not in policies:
            problems.append(f"roles.{role}: {name!r} is not one of the policies")
    version = roles.get(CHAMPION_VERSION)
    if version is not None and (not isinstance(version, str) or roles.get("champion") is None):
        problems.append(f"roles.{CHAMPION_VERSION}: expected a string, and a champion role")
    return problems


# ------------------------------------------------------------------ views


def flat_metrics(report: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """policy → suite → {success_rate, offline_step_success_rate}: for `dvc metrics show`;
    an imported suite has no success_rate but its conventions (group → metric → value)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, policy in report["policies"].items():
        rows = {
            suite: {
                "success_rate": section["success_rate"],
                "offline_step_success_rate": section["offline"]["step_success_rate"],
            }
            for suite, section in sorted(policy["suites"].items())
        }
        for suite, section in sorted(policy.get(OFFLINE_ONLY, {}).items()):
            rows[suite] = {"offline_step_success_rate": section["offline"]["step_success_rate"],
                           CONVENTIONS: section["offline"][CONVENTIONS]}
        out[name] = rows
    return out


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def markdown_table(report: Mapping[str, Any]) -> str:
    """One row per policy and suite, for the README (roles marked after the name)."""
    roles: dict[str, list[str]] = defaultdict(list)
    for role, name in report["roles"].items():
        if name is not None:
            roles[name].append(role)
    level = round(100 * float(report["confidence"]))
    lines = [
        f"| policy | suite | success | {level}% CI | episodes | long-horizon success | "
        "mean steps | repetition | invalid | offline step SR |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, policy in report["policies"].items():
        label = f"{name} ({', '.join(roles[name])})" if roles[name] else name
        for suite, s in sorted(policy["suites"].items()):
            lo, hi = s["ci95"]
            offline = s["offline"]
            step_sr = _pct(offline["step_success_rate"]) if offline["steps"] else "n/a"
            lines.append(
                f"| {label} | {suite} | {_pct(s['success_rate'])} | {_pct(lo)}–{_pct(hi)} | "
                f"{s['episodes']} | {_pct(s['long_horizon']['success_rate'])} | "
                f"{s['mean_steps']:.2f} | {_pct(s['repetition_rate'])} | "
                f"{_pct(s['invalid_action_rate'])} | {step_sr} |"
            )
    return "\n".join(lines)


def family_table(report: Mapping[str, Any], suite: str) -> str:
    """Success per task family (rows) and policy (columns) of one suite, with intervals."""
    names = [n for n, p in report["policies"].items() if suite in p["suites"]]
    families = sorted({f for n in names for f in report["policies"][n]["suites"][suite]
                       ["families"]})
    lines = [f"| {suite} family | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for family in families:
        cells = []
        for name in names:
            s = report["policies"][name]["suites"][suite]["families"].get(family)
            cells.append(f"{_pct(s['success_rate'])} ({_pct(s['ci95'][0])}–{_pct(s['ci95'][1])}, "
                         f"n={s['episodes']})" if s else "n/a")
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _offline_sections(report: Mapping[str, Any], suite: str) -> dict[str, Mapping[str, Any]]:
    """policy → the suite's `offline` section (closed-loop or imported), where it has one."""
    out = {}
    for name, policy in report["policies"].items():
        section = policy["suites"].get(suite) or policy.get(OFFLINE_ONLY, {}).get(suite)
        if section is not None:
            out[name] = section["offline"]
    return out


def conventions_table(report: Mapping[str, Any], suite: str) -> str:
    """One suite's offline metrics under its benchmark conventions: a row per policy,
    a column per group metric (rates in %, counts as they are); "" without conventions."""
    offline = {n: o for n, o in _offline_sections(report, suite).items() if CONVENTIONS in o}
    columns = list(dict.fromkeys((g, k) for o in offline.values()
                                 for g, m in o[CONVENTIONS].items() for k in m))
    if not columns:
        return ""
    lines = [f"| {suite} policy | " + " | ".join(f"{g} {k}" for g, k in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, section in offline.items():
        cells = []
        for group, key in columns:
            value = section[CONVENTIONS].get(group, {}).get(key)
            cells.append("n/a" if value is None else
                         str(value) if key in CONVENTION_COUNT_KEYS else _pct(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(report: Mapping[str, Any]) -> str:
    """`report.md`: the policy table, one per-family table per suite, then the offline
    metrics under each suite's benchmark conventions (imported suites only there)."""
    level = round(100 * float(report["confidence"]))
    suites = sorted({s for p in report["policies"].values() for s in p["suites"]})
    imported = sorted({s for p in report["policies"].values() for s in p.get(OFFLINE_ONLY, {})})
    parts = [f"# Evaluation on the {report['split']} split", "", markdown_table(report)]
    for suite in suites:
        parts += ["", f"## {suite}: success per task family ({level}% interval, episodes)", "",
                  family_table(report, suite)]
    for suite in [*suites, *imported]:
        table = conventions_table(report, suite)
        if table:
            kind = "imported, offline only" if suite in imported else "offline"
            parts += ["", f"## {suite}: benchmark conventions ({kind}, held-out expert steps)",
                      "", table]
    return "\n".join(parts) + "\n"


def curves_from_rows(
    rows: Iterable[Mapping[str, Any]], *, value: str = "reward"
) -> dict[str, list[tuple[int, float]]]:
    """Training-log rows ``{stage, variant, step, reward, ...}`` → ``"stage/variant"`` curves.

    >>> curves_from_rows([{"stage": "stage1_grpo", "variant": "t5", "step": 2, "reward": 0.5},
    ...                   {"stage": "stage1_grpo", "variant": "t5", "step": 1, "reward": 0.25}])
    {'stage1_grpo/t5': [(1, 0.25), (2, 0.5)]}
    """
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        if row.get(value) is None:
            continue
        name = "/".join(str(row[k]) for k in ("stage", "variant") if row.get(k) is not None)
        curves[name or value].append((int(row["step"]), float(row[value])))
    return {name: sorted(points) for name, points in sorted(curves.items())}


def write_report(
    report: Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    curves: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> dict[str, Path]:
    """Write the report, its flat metrics and both figures into `out_dir` (each atomically).

    Refuses a report that breaks the schema: the gate must never read a bad one.
    Returns the written paths by kind (`report`, `metrics`, `markdown`, `success_plot`,
    `curves_plot`).
    """
    from tracer1.evaluation.plots import plot_curves, plot_success

    problems = check_report(report)
    if problems:
        raise ValueError("eval report breaks its schema:\n  " + "\n  ".join(problems))
    out = Path(out_dir)
    paths = {
        "report": out / REPORT_FILE,
        "metrics": out / METRICS_FILE,
        "markdown": out / MARKDOWN_FILE,
        "success_plot": out / SUCCESS_PLOT,
        "curves_plot": out / CURVES_PLOT,
    }
    write_json(paths["report"], report)
    write_json(paths["metrics"], flat_metrics(report))
    with atomic_open(paths["markdown"], "w") as fh:
        fh.write(markdown_report(report))
    plot_success(report, paths["success_plot"])
    plot_curves(curves or {}, paths["curves_plot"])
    return paths


__all__ = [
    "CHAMPION_VERSION",
    "CONVENTIONS",
    "CONVENTION_COUNT_KEYS",
    "CURVES_PLOT",
    "MARKDOWN_FILE",
    "METRICS_FILE",
    "OFFLINE_ONLY",
    "REPORT_FILE",
    "ROLES",
    "SCHEMA_VERSION",
    "SUCCESS_PLOT",
    "build_report",
    "check_report",
    "conventions_table",
    "curves_from_rows",
    "family_table",
    "flat_metrics",
    "markdown_report",
    "markdown_table",
    "offline_only_section",
    "scored_section",
    "write_report",
]
