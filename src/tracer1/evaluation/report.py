"""The eval report: its schema (the contract with the promotion gate), checker and files.

```
{"schema_version": 2, "split": "test", "confidence": 0.95,
 "policies": {"<name>": {"suites": {"<suite>": {
     "success_rate": float, "ci95": [lo, hi], "episodes": int, "mean_steps": float,
     "repetition_rate": float, "invalid_action_rate": float,
     "per_task": {"<task_id>": 0 | 1, ...},
     "families": {"<family>": {"success_rate", "ci95", "episodes"}},
     "long_horizon": {"success_rate", "ci95", "episodes", "difficulty",
                      "tasks": ["<task_id>", ...]},          # optional: which tasks
     "offline": {"action_type_accuracy", "argument_accuracy", "step_success_rate",
                 "parse_error_rate", "steps",
                 "conventions": {"<group>": {"<rate>": float, "steps" | "answers": int}}}}},
   "offline_only": {"<suite>": {           # optional: imported datasets, no live environment
     "episodes": int, "offline": {...as above, "conventions" required}}}}},
 "roles": {"candidate": "<name>", "baseline": "<name>" | null, "champion": "<name>" | null,
           "champion_version": "<registry version>"   # optional: which champion was scored
 },
 "paired": {"<a>-<b>": {"a": "<name>", "b": "<name>", "label": str,
     "suites": {"<suite>": {
         "all": {"difference": float, "ci95": [lo, hi], "tasks": int,
                 "a_only": int, "b_only": int},
         "long_horizon": {...as "all", "difficulty": int}}}}},  # where `tasks` are listed
 "notes": [str, ...]                       # optional: e.g. a requested policy not scored
}
```

Schema version 2 (was 1): `ci95` became the Wilson score interval, `paired` was added
and `long_horizon.tasks` may list its task ids.

`ci95` is the **Wilson score interval** of the success rate at the report's
`confidence` (`metrics.wilson_ci`; the key keeps its name whatever the level). It is
closed-form and honest at the edges: 0 of 50 successes gives [0, ~0.07], 50 of 50
[~0.93, 1] (the percentile bootstrap of schema 1 collapsed to [0, 0] / [1, 1] there).
Every policy of a suite is scored on the same task ids (`per_task`), so policies are
compared paired, task by task. `long_horizon` covers the suite's tasks of the highest
difficulty evaluated (`difficulty` says which: tool use 3, 4-6 tool calls; MiniWoB 3,
book-flight). `offline.steps == 0` means no held-out episodes.

`paired` holds the differences a - b of success on the tasks both policies ran, with
Newcombe's paired score interval (`metrics.paired_binary_difference`), per suite
(``all``) and on its long-horizon tasks (``long_horizon``, when both policies list
them): the training ladder stage2 - stage1, stage1 - sft, sft - base, then the
candidate against the baseline and against the champion (`PAIRED_COMPARISONS`),
each where both policies were scored. `a_only` / `b_only` count the tasks only one of
the two solved (the discordant pairs that carry the difference). `build_report`
computes it from `per_task`, and `check_report` recomputes it: it cannot disagree with
the outcomes.

`notes` says what the report does not show and why, e.g. ``base`` requested in
`evaluate.policies` but not scored because `policy.base_model` is null (the tiny
from-scratch model has no pretrained base to run zero-shot).

`offline.conventions` (optional) scores the same first actions under the public
benchmarks' rules (`evaluation.offline.CONVENTION_GROUPS`: ``step`` - action-type,
grounding with the 14% rule, step success; ``tool``; ``answer_exact``;
``answer_phrases``); counts are the `CONVENTION_COUNT_KEYS`, everything else a rate.
`offline_only` holds the imported suites: scored offline on the split's recorded
episodes only, every policy on the same ones. The gate reads `suites` alone (a
closed-loop success rate is what it compares), so an imported suite never
decides a promotion; a policy with only `offline_only` suites is a valid report the
gate rejects (nothing closed-loop to judge).

`write_report` writes `report.json`, a small flat `metrics.json` for `dvc metrics show`
(`dvc_metrics`: success per suite and policy, the long-horizon subset, numbers only),
`report.md` (the tables a person reads: every policy per suite, the long-horizon
subset as its own rows, the paired differences, then per task family with intervals,
the benchmark conventions and the notes) and two figures: `success_by_policy.png` and
`training_curves.png`.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tracer1.evaluation.metrics import paired_by_task, success_ci, success_rate
from tracer1.io import atomic_open, write_json
from tracer1.records import REPORT_SCHEMA_VERSION as SCHEMA_VERSION
from tracer1.records import is_count, is_rate, outcome_problems, scored_problems

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
PAIRED = "paired"
NOTES = "notes"  # optional top-level key: what the report does not show, and why
PAIRED_SUBSETS = ("all", "long_horizon")
PAIRED_CELL_KEYS = ("difference", "ci95", "tasks", "a_only", "b_only")
PAIRED_COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("stage2", "stage1", "Stage 2 grounded RFT vs Stage 1"),
    ("stage1", "sft", "Stage 1 trajectory GRPO vs SFT"),
    ("sft", "base", "SFT vs the zero-shot base model"),
    ("@candidate", "@baseline", "candidate vs baseline: anticipatory vs reactive"),
    ("@candidate", "@champion", "candidate vs the registry champion"),
)
"""(a, b, label) of the `paired` differences a - b; ``@role`` names the policy in that
role. A comparison is reported where both policies were scored (and differ)."""


def _round(value: float) -> float:
    return round(float(value), DIGITS)


def scored_section(
    outcomes: Sequence[float], *, confidence: float, samples: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """`{"success_rate", "ci95", "episodes"}` of a list of 0/1 outcomes; `ci95` is the
    Wilson score interval at `confidence`. `samples` and `seed` are accepted for callers
    of the bootstrap era (`evaluate.bootstrap_samples`) and unused: no resampling."""
    del samples, seed
    lo, hi = success_ci(outcomes, confidence=confidence)
    return {
        "success_rate": _round(success_rate(outcomes)),
        "ci95": [_round(lo), _round(hi)],
        "episodes": len(outcomes),
    }


def long_horizon_section(
    per_task: Mapping[str, int], difficulty: int, *, confidence: float
) -> dict[str, Any]:
    """The `long_horizon` section of a suite: `scored_section` of the given tasks (id →
    0/1, those of the hardest difficulty), that `difficulty`, and the sorted task ids."""
    ids = sorted(per_task)
    return {**scored_section([float(per_task[t]) for t in ids], confidence=confidence),
            "difficulty": int(difficulty), "tasks": ids}


def _resolve(name: str, roles: Mapping[str, Any]) -> str | None:
    return roles.get(name[1:]) if name.startswith("@") else name


def _paired_cell(a: Mapping[str, int], b: Mapping[str, int], confidence: float
                 ) -> dict[str, Any]:
    diff = paired_by_task(a, b, method="newcombe", confidence=confidence)
    shared = sorted(set(a) & set(b))
    return {
        "difference": _round(diff.mean),
        "ci95": [_round(diff.lo), _round(diff.hi)],
        "tasks": diff.n,
        "a_only": sum(1 for t in shared if a[t] and not b[t]),
        "b_only": sum(1 for t in shared if b[t] and not a[t]),
    }


def paired_sections(
    policies: Mapping[str, Mapping[str, Any]], roles: Mapping[str, Any], *, confidence: float
) -> dict[str, Any]:
    """The report's `paired` section from its `policies` (name → {"suites": ...}) and
    `roles`: `PAIRED_COMPARISONS` where both policies were scored, per closed-loop suite
    both ran (none: empty `suites`), on all its tasks and on its long-horizon tasks
    (where both sections list `tasks`)."""
    out: dict[str, Any] = {}
    for left, right, label in PAIRED_COMPARISONS:
        a, b = _resolve(left, roles), _resolve(right, roles)
        key = f"{a}-{b}"
        if a is None or b is None or a == b or a not in policies or b not in policies \
                or key in out:
            continue
        suites_a, suites_b = policies[a]["suites"], policies[b]["suites"]
        suites: dict[str, Any] = {}
        for suite in sorted(set(suites_a) & set(suites_b)):
            sa, sb = suites_a[suite], suites_b[suite]
            cells = {"all": _paired_cell(sa["per_task"], sb["per_task"], confidence)}
            la, lb = sa["long_horizon"], sb["long_horizon"]
            if "tasks" in la and "tasks" in lb:
                ids = sorted(set(la["tasks"]) & set(lb["tasks"]))
                cells["long_horizon"] = {
                    **_paired_cell({t: sa["per_task"][t] for t in ids},
                                   {t: sb["per_task"][t] for t in ids}, confidence),
                    "difficulty": la["difficulty"],
                }
            suites[suite] = cells
        out[key] = {"a": a, "b": b, "label": label, "suites": suites}
    return out


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
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Assemble the report from policy → suite → suite section (and, for imported suites,
    policy → suite → `offline_only_section`), compute its `paired` differences, keep
    `notes`; raises if it breaks the schema."""
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
    report[NOTES] = [str(n) for n in notes]
    problems = _problems(report, paired=False)
    if not problems:  # the differences need well-formed sections
        report[PAIRED] = paired_sections(sections, report["roles"], confidence=confidence)
        problems = check_report(report)
    if problems:
        raise ValueError("eval report breaks its schema:\n  " + "\n  ".join(problems))
    return report


# ------------------------------------------------------------------ checking


def _check_scored(section: Any, where: str) -> list[str]:
    if not isinstance(section, Mapping):
        return [f"{where}: expected an object"]
    missing = [f"{where}.{k}: missing" for k in SCORED_KEYS if k not in section]
    return missing or scored_problems(where, section)


def _check_suite(section: Any, where: str) -> list[str]:
    if not isinstance(section, Mapping):
        return [f"{where}: expected an object"]
    missing = [f"{where}.{k}: missing" for k in SUITE_KEYS if k not in section]
    if missing:
        return missing
    problems = outcome_problems(where, section)  # includes _check_scored's checks
    for key in ("repetition_rate", "invalid_action_rate"):
        if not is_rate(section[key]):
            problems.append(f"{where}.{key}: not a rate in [0, 1]")
    if not isinstance(section["mean_steps"], int | float) or section["mean_steps"] < 0:
        problems.append(f"{where}.mean_steps: not a non-negative number")
    families = section["families"]
    if not isinstance(families, Mapping):
        problems.append(f"{where}.families: expected an object")
    else:
        for family, sub in families.items():
            problems += _check_scored(sub, f"{where}.families.{family}")
    problems += _check_scored(section["long_horizon"], f"{where}.long_horizon")
    problems += _check_long_tasks(section, f"{where}.long_horizon")
    return problems + _check_offline(section["offline"], f"{where}.offline")


def _check_long_tasks(section: Mapping[str, Any], where: str) -> list[str]:
    """`long_horizon.tasks` (optional): distinct ids of `per_task`, one per episode."""
    long = section["long_horizon"]
    if not isinstance(long, Mapping) or "tasks" not in long:
        return []
    tasks, per_task = long["tasks"], section["per_task"]
    if not isinstance(tasks, list | tuple) or not all(isinstance(t, str) for t in tasks):
        return [f"{where}.tasks: expected a list of task ids"]
    problems = []
    if len(set(tasks)) != len(tasks) or len(tasks) != long.get("episodes"):
        problems.append(f"{where}.tasks: {len(tasks)} ids for {long.get('episodes')!r} "
                        "episodes (or repeated ids)")
    if isinstance(per_task, Mapping) and not set(tasks) <= set(per_task):
        problems.append(f"{where}.tasks: ids that are not in per_task")
    if not isinstance(long.get("difficulty"), int) or isinstance(long.get("difficulty"), bool):
        problems.append(f"{where}.difficulty: expected an integer")
    return problems


def _check_offline(offline: Any, where: str, *, conventions: bool = False) -> list[str]:
    """An `offline` section; `conventions` is required when `conventions` is True."""
    if not isinstance(offline, Mapping):
        return [f"{where}: expected an object"]
    problems = [f"{where}.{k}: missing" for k in OFFLINE_KEYS if k not in offline]
    problems += [f"{where}.{k}: not a rate in [0, 1]" for k in OFFLINE_KEYS[:-1]
                 if k in offline and not is_rate(offline[k])]
    if "steps" in offline and not is_count(offline["steps"]):
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
            if key in CONVENTION_COUNT_KEYS and not is_count(value):
                problems.append(f"{at}.{key}: not a count")
            elif key not in CONVENTION_COUNT_KEYS and not is_rate(value):
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
        if "episodes" in section and not is_count(section["episodes"]):
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


def _check_notes(notes: Any) -> list[str]:
    if not isinstance(notes, list | tuple) or not all(isinstance(n, str) for n in notes):
        return [f"{NOTES}: expected a list of strings"]
    return []


def _check_paired(report: Mapping[str, Any]) -> list[str]:
    """`paired` is what `paired_sections` computes from the report's own outcomes."""
    if PAIRED not in report:
        return [f"{PAIRED}: missing"]
    paired = report[PAIRED]
    if not isinstance(paired, Mapping):
        return [f"{PAIRED}: expected an object"]
    expected = paired_sections(report["policies"], report["roles"],
                               confidence=float(report["confidence"]))
    problems = [f"{PAIRED}.{k}: missing" for k in expected if k not in paired]
    problems += [f"{PAIRED}.{k}: not a comparison of scored policies (see PAIRED_COMPARISONS)"
                 for k in paired if k not in expected]
    problems += [f"{PAIRED}.{k}: does not match the policies' per_task outcomes "
                 "(`paired_sections` recomputes it)"
                 for k in expected if k in paired and _jsonable(paired[k]) != expected[k]]
    return problems


def _jsonable(value: Any) -> Any:
    """`value` as a JSON round trip gives it (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


def check_report(report: Any) -> list[str]:
    """Every way `report` breaks the schema, as ``path: problem`` lines; [] when it is valid."""
    return _problems(report, paired=True)


def _problems(report: Any, *, paired: bool) -> list[str]:
    """`check_report`; without `paired`, everything but the `paired` section."""
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
    if not is_rate(report["confidence"]) or report["confidence"] in (0, 1):
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
    if NOTES in report:
        problems += _check_notes(report[NOTES])
    if paired and not problems:
        problems += _check_paired(report)
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


def dvc_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """The numbers `metrics.json` holds, one flat key each, for `dvc metrics show/diff`:
    ``<suite>.<policy>`` closed-loop success of every policy, ``<suite>.long.<policy>``
    the long-horizon subset of the candidate and the baseline.

    Short keys and no strings: DVC draws one column per key across every metrics file,
    so the rest (intervals, families, offline scores, conventions) stays in `report.json`.
    """
    roles = report.get("roles") or {}
    compared = {roles.get("candidate"), roles.get("baseline")} - {None} or set(report["policies"])
    out: dict[str, float] = {}
    for name, policy in report["policies"].items():
        for suite, section in sorted(policy["suites"].items()):
            out[f"{suite}.{name}"] = section["success_rate"]
            if name in compared and isinstance(section.get("long_horizon"), Mapping):
                out[f"{suite}.long.{name}"] = section["long_horizon"]["success_rate"]
    return dict(sorted(out.items()))


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


def _interval(ci: Sequence[float]) -> str:
    return f"{_pct(ci[0])}–{_pct(ci[1])}"


def long_horizon_table(report: Mapping[str, Any]) -> str:
    """The long-horizon subset as its own rows: one per policy and suite (the tasks of the
    suite's highest difficulty evaluated), with intervals."""
    level = round(100 * float(report["confidence"]))
    lines = [f"| policy | suite | difficulty | long-horizon success | {level}% CI | episodes |",
             "|---|---|---|---|---|---|"]
    for name, policy in report["policies"].items():
        for suite, s in sorted(policy["suites"].items()):
            long = s["long_horizon"]
            lines.append(f"| {name} | {suite} | {long.get('difficulty', 'n/a')} | "
                         f"{_pct(long['success_rate'])} | {_interval(long['ci95'])} | "
                         f"{long['episodes']} |")
    return "\n".join(lines)


def _signed_pct(value: float) -> str:
    return f"{100 * value:+.1f} pp"


def paired_table(report: Mapping[str, Any]) -> str:
    """The `paired` differences a - b: a row per comparison, suite and subset (all tasks,
    then the long-horizon ones); "" when the report has none."""
    level = round(100 * float(report["confidence"]))
    lines = []
    for comparison in (report.get(PAIRED) or {}).values():
        name = f"{comparison['a']} − {comparison['b']}"
        for suite, cells in sorted(comparison["suites"].items()):
            for subset in PAIRED_SUBSETS:
                cell = cells.get(subset)
                if cell is None:
                    continue
                where = suite if subset == "all" else \
                    f"{suite} long-horizon (d{cell['difficulty']})"
                lo, hi = cell["ci95"]
                # Read off the interval as printed (0.1 pp), so the words match the numbers.
                shown_lo, shown_hi = round(100 * lo, 1), round(100 * hi, 1)
                reading = ("a better" if shown_lo > 0 else "b better" if shown_hi < 0 else
                           "no difference shown")
                lines.append(
                    f"| {name} | {comparison['label']} | {where} | {cell['tasks']} | "
                    f"{_signed_pct(cell['difference'])} | {_signed_pct(lo)} to "
                    f"{_signed_pct(hi)} | {cell['a_only']} | {cell['b_only']} | {reading} |")
    if not lines:
        return ""
    header = [f"| a − b | what | suite | tasks | difference | {level}% CI | a only | b only | "
              "reading |",
              "|---|---|---|---|---|---|---|---|---|"]
    return "\n".join(header + lines)


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
    """`report.md`: the policy table, the long-horizon rows, the paired differences, one
    per-family table per suite, the offline metrics under each suite's benchmark
    conventions (imported suites only there), then the notes."""
    level = round(100 * float(report["confidence"]))
    suites = sorted({s for p in report["policies"].values() for s in p["suites"]})
    imported = sorted({s for p in report["policies"].values() for s in p.get(OFFLINE_ONLY, {})})
    parts = [f"# Evaluation on the {report['split']} split", "",
             f"Success with its {level}% Wilson score interval, per policy and suite.", "",
             markdown_table(report), "",
             "## Long-horizon tasks (each suite's highest difficulty evaluated)", "",
             long_horizon_table(report)]
    table = paired_table(report)
    if table:
        parts += ["", f"## Paired differences a − b on the same tasks ({level}% Newcombe "
                  "paired score interval)", "",
                  "`a only` / `b only`: tasks only one of the two solved. An interval that "
                  "contains 0 shows no difference at this sample size.", "", table]
    for suite in suites:
        parts += ["", f"## {suite}: success per task family ({level}% interval, episodes)", "",
                  family_table(report, suite)]
    for suite in [*suites, *imported]:
        table = conventions_table(report, suite)
        if table:
            kind = "imported, offline only" if suite in imported else "offline"
            parts += ["", f"## {suite}: benchmark conventions ({kind}, held-out expert steps)",
                      "", table]
    if report.get(NOTES):
        parts += ["", "## Notes", "", *[f"* {note}" for note in report[NOTES]]]
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
    write_json(paths["metrics"], dvc_metrics(report))
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
    "NOTES",
    "OFFLINE_ONLY",
    "PAIRED",
    "PAIRED_COMPARISONS",
    "REPORT_FILE",
    "ROLES",
    "SCHEMA_VERSION",
    "SUCCESS_PLOT",
    "build_report",
    "check_report",
    "conventions_table",
    "curves_from_rows",
    "dvc_metrics",
    "family_table",
    "flat_metrics",
    "long_horizon_section",
    "long_horizon_table",
    "markdown_report",
    "markdown_table",
    "offline_only_section",
    "paired_sections",
    "paired_table",
    "scored_section",
    "write_report",
]
