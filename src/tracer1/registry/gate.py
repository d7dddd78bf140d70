"""The eval gate: a pure function from an eval report to promote / reject.

Checks, each reported pass or fail with one human-readable reason:

* ``well_formed`` — schema version, roles and policy sections are what the
  report contract says, and each suite's numbers agree: rates in [0, 1], one 0|1
  per-task outcome per episode, the success rate their mean (to the report's
  rounding). A malformed report stops here (rejected with the list of problems,
  never a deep KeyError): a report whose counts disagree is judged on none of them;
* ``episodes:<suite>`` — the candidate ran at least one episode on the suite;
* ``floor:<suite>`` — the candidate's primary metric reaches the suite's floor
  (`promote.floors`; a floor for a suite the report lacks fails). The floor is compared
  with the **point estimate** (the success rate itself), not with the lower bound of
  its Wilson interval: a floor says "at least this good as measured"; the interval is
  shown in the reason. Floors apply to every candidate, the first one too: with no
  champion to beat, a candidate below a floor is still rejected and no alias moves;
* ``no_regression:<suite>`` — against the champion, paired on the task ids both
  ran: mean(candidate − champion) ≥ −tolerance. Both must have run the same tasks
  (as `evaluate` does): no common task, a champion task the candidate skipped, or
  a task only the candidate ran fails (a comparison on a sample the candidate
  chose would be meaningless);
* ``beats_champion`` — the candidate's primary metric, averaged over the suites
  both have, exceeds the champion's by more than the margin (passes when there
  is no champion yet);
* ``registry_champion`` — only when the caller passes the registry's state: the
  report was scored against the champion the registry holds *now* (a report
  without a champion cannot promote over an existing one);
* ``loadable`` — added after the gate by the registry (`with_load_check`): the
  registered version loads back and plans. A version that does not is rejected
  whatever the report said.

Nothing here imports MLflow or touches files, so every branch is a unit test. The gate
reads report schema `REPORT_SCHEMA_VERSION` (2: Wilson `ci95`, `paired` differences) and
only its `suites` sections; `paired` is for people (`report.md`), not a gate input.

>>> from tracer1.config import PromoteConfig
>>> suite = {"success_rate": 0.5, "ci95": [0.1, 0.9], "episodes": 2,
...          "per_task": {"t1": 1, "t2": 0}}
>>> report = {"schema_version": 2, "policies": {"stage2": {"suites": {"tooluse": suite}}},
...           "roles": {"candidate": "stage2", "baseline": None, "champion": None}}
>>> decide(report, PromoteConfig()).decision
'promote'
>>> zero = {**suite, "success_rate": 0.0, "per_task": {"t1": 0, "t2": 0}}
>>> report["policies"]["stage2"]["suites"]["tooluse"] = zero
>>> decide(report, PromoteConfig(floors={"tooluse": 0.3})).decision  # no champion needed
'reject'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tracer1.config import PromoteConfig
from tracer1.records import REPORT_SCHEMA_VERSION, is_interval, is_number, outcome_problems

# Float noise must not flip a decision sitting exactly on a threshold (0.62 - 0.64 + 0.02).
_EPS = 1e-9


@dataclass(frozen=True)
class RegistryState:
    """What the registry holds when the gate runs (passed by the promote stage)."""

    champion_version: str | None


@dataclass(frozen=True)
class Check:
    """One gate check: `name` is stable (``floor:tooluse``), `reason` is for people."""

    name: str
    passed: bool
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "reason": self.reason, **self.data}


@dataclass(frozen=True)
class Decision:
    """The gate's verdict; `reasons` holds one line per check, pass or fail, in check order."""

    decision: Literal["promote", "reject"]
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]
    candidate: str | None
    """The candidate's policy name in the report (None when the report is malformed)."""
    champion: str | None = None
    """The champion's policy name in the report, if it was scored."""
    champion_version: str | None = None
    """The registry version the report's champion is (when known)."""
    primary_metric: str = "success_rate"
    candidate_metrics: Mapping[str, float] = field(default_factory=dict)
    champion_metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        return self.decision == "promote"

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def to_json(self) -> dict[str, Any]:
        """The body of decision.json (plain JSON types only)."""
        return {
            "schema_version": 1,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "checks": [c.to_json() for c in self.checks],
            "candidate": self.candidate,
            "champion": self.champion,
            "champion_version": self.champion_version,
            "primary_metric": self.primary_metric,
            "metrics": {
                "candidate": dict(self.candidate_metrics),
                "champion": dict(self.champion_metrics),
            },
        }


# ----------------------------------------------------------------- report reading


def _suite_problems(where: str, suites: Any, metric: str) -> list[str]:
    if not isinstance(suites, dict) or not suites:
        return [f"{where}.suites: expected a non-empty object of suites"]
    problems = []
    for name, suite in suites.items():
        at = f"{where}.suites.{name}"
        if not isinstance(suite, dict):
            problems.append(f"{at}: expected an object")
            continue
        if metric != "success_rate" and not is_number(suite.get(metric)):
            problems.append(f"{at}.{metric}: expected a finite number, got {suite.get(metric)!r}")
        problems += outcome_problems(at, suite)
    return problems


def _report_problems(report: Any, metric: str) -> list[str]:
    """Everything that makes `report` unreadable by the gate; empty when well-formed."""
    if not isinstance(report, dict):
        return [f"report: expected a JSON object, got {type(report).__name__}"]
    problems = []
    version = report.get("schema_version")
    if version != REPORT_SCHEMA_VERSION:
        problems.append(f"schema_version: expected {REPORT_SCHEMA_VERSION}, got {version!r}")
    policies = report.get("policies")
    roles = report.get("roles")
    if not isinstance(policies, dict):
        problems.append("policies: expected an object of policy name -> results")
    if not isinstance(roles, dict):
        problems.append("roles: expected an object with candidate/baseline/champion")
    if problems:
        return problems
    for role in ("candidate", "champion"):
        name = roles.get(role)
        if name is None and role == "champion":
            continue
        if not isinstance(name, str) or not name:
            problems.append(f"roles.{role}: expected a policy name, got {name!r}")
        elif name not in policies:
            problems.append(f"roles.{role}: policy {name!r} is not in policies")
        elif not isinstance(policies[name], dict):
            problems.append(f"policies.{name}: expected an object")
        else:
            problems += _suite_problems(f"policies.{name}", policies[name].get("suites"), metric)
    return problems


# ------------------------------------------------------------------------ checks


def _episodes(suite: str, results: dict[str, Any]) -> Check:
    n = results["episodes"]
    ok = n > 0
    reason = f"candidate ran {n} episode(s) on {suite}" + ("" if ok else "; nothing was measured")
    return Check(f"episodes:{suite}", ok, reason, {"episodes": n})


def _floor(suite: str, floor: float, cand: dict[str, Any], metric: str) -> Check:
    name = f"floor:{suite}"
    if suite not in cand:
        return Check(name, False, f"{suite} has a floor of {floor:g} but no results in the report",
                     {"floor": floor, "value": None})
    value = cand[suite][metric]
    ok = value + _EPS >= floor  # the point estimate, not the interval's lower bound
    ci = cand[suite].get("ci95")
    ci_text = f" (Wilson ci95 {ci[0]:.3f}-{ci[1]:.3f})" if is_interval(ci) else ""
    op = ">=" if ok else "<"
    reason = f"{suite}: {metric} {value:.3f}{ci_text} {op} floor {floor:g}"
    return Check(name, ok, reason, {"floor": floor, "value": value})


def _no_regression(
    suite: str, cand: dict[str, Any], champ: dict[str, Any], tolerance: float
) -> Check:
    name = f"no_regression:{suite}"
    if suite not in cand:
        return Check(name, False, f"{suite}: the champion was scored on it, the candidate was not",
                     {"tolerance": tolerance, "paired_tasks": 0})
    a = cand[suite]["per_task"]
    b = champ[suite]["per_task"]
    common = sorted(set(a) & set(b))
    if not common:
        reason = (f"{suite}: no task ids in common between candidate and champion "
                  "(a paired comparison is impossible)")
        return Check(name, False, reason, {"tolerance": tolerance, "paired_tasks": 0})
    delta = sum(a[t] - b[t] for t in common) / len(common)
    data = {"tolerance": tolerance, "paired_tasks": len(common), "delta": delta}
    # `evaluate` scores every policy on the same tasks. A candidate that ran only some of
    # the champion's (or others besides) is compared on a sample it chose: one easy common
    # task "pairs" with a 50-task champion, and extra easy tasks lift its success rate.
    missing, extra = sorted(set(b) - set(a)), sorted(set(a) - set(b))
    if missing or extra:
        reason = (f"{suite}: the candidate ran {len(common)} of the champion's {len(b)} tasks"
                  + (f" (missing {_some(missing)})" if missing else "")
                  + (f" and {len(extra)} it did not run ({_some(extra)})" if extra else "")
                  + "; both must be scored on the same tasks")
        return Check(name, False, reason,
                     {**data, "missing_tasks": len(missing), "extra_tasks": len(extra)})
    ok = delta + _EPS >= -tolerance
    verdict = "within" if ok else "beyond"
    reason = (f"{suite}: paired change vs champion {delta:+.3f} over {len(common)} tasks, "
              f"{verdict} tolerance -{tolerance:g}")
    return Check(name, ok, reason, data)


def _some(ids: list[str], shown: int = 3) -> str:
    """A few task ids for a reason line: ``t1, t2, t3 and 47 more``."""
    head = ", ".join(ids[:shown])
    return head + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _beats_champion(
    cand: dict[str, Any], champ: dict[str, Any] | None, metric: str, margin: float
) -> Check:
    name = "beats_champion"
    if champ is None:
        return Check(name, True, "no champion yet: the first version to pass the gate is promoted",
                     {"margin": margin})
    suites = sorted(set(cand) & set(champ))
    if not suites:
        return Check(name, False, "candidate and champion share no suite to compare on",
                     {"margin": margin, "suites": []})
    c = _mean([cand[s][metric] for s in suites])
    h = _mean([champ[s][metric] for s in suites])
    ok = c - h > margin + _EPS
    op = ">" if ok else "<="
    reason = (f"mean {metric} over {', '.join(suites)}: candidate {c:.3f} vs champion {h:.3f}, "
              f"gain {c - h:+.3f} {op} margin {margin:g}")
    return Check(name, ok, reason,
                 {"margin": margin, "suites": suites, "candidate": c, "champion": h})


def _registry_champion(roles: dict[str, Any], has_champion: bool, state: RegistryState) -> Check:
    name = "registry_champion"
    current = state.champion_version
    scored = roles.get("champion_version")
    data = {"registry_version": current, "report_version": scored}
    if current is None:
        ok = not has_champion
        reason = ("the registry has no champion yet" if ok else
                  "the report compares against a champion but the registry has none")
        return Check(name, ok, reason, data)
    if not has_champion:
        return Check(name, False, f"the registry's champion is v{current} but the report did not "
                     "score it; re-run evaluate against the champion", data)
    if scored is not None and str(scored) != str(current):
        return Check(name, False, f"the report scored champion v{scored} but the registry's "
                     f"champion is now v{current}; re-run evaluate", data)
    return Check(name, True, f"the report was scored against the registry's champion v{current}",
                 data)


def decide(
    report: dict[str, Any], cfg: PromoteConfig, registry: RegistryState | None = None
) -> Decision:
    """Judge an eval report (the `evaluate` contract) against the promotion policy in `cfg`.

    With `registry`, also check the report scored the registry's current champion.
    Never raises on a malformed report: it rejects with the problems as reasons.
    """
    metric = cfg.primary_metric
    problems = _report_problems(report, metric)
    if problems:
        reason = "malformed eval report: " + "; ".join(problems)
        check = Check("well_formed", False, reason, {"problems": problems})
        candidate = None
        if isinstance(report, dict) and isinstance(report.get("roles"), dict):
            candidate = report["roles"].get("candidate")
        return Decision("reject", (f"FAIL {reason}",), (check,),
                        candidate if isinstance(candidate, str) else None, primary_metric=metric)

    roles = report["roles"]
    cand_name, champ_name = roles["candidate"], roles.get("champion")
    cand = report["policies"][cand_name]["suites"]
    champ = report["policies"][champ_name]["suites"] if champ_name else None

    checks = [Check("well_formed", True, f"eval report schema v{REPORT_SCHEMA_VERSION}, "
                    f"candidate {cand_name!r}" + (f", champion {champ_name!r}" if champ else ""))]
    checks += [_episodes(s, cand[s]) for s in sorted(cand)]
    checks += [_floor(s, floor, cand, metric) for s, floor in sorted(cfg.floors.items())]
    if champ is not None:
        checks += [_no_regression(s, cand, champ, cfg.tolerance) for s in sorted(champ)]
    checks.append(_beats_champion(cand, champ, metric, cfg.margin))
    if registry is not None:
        checks.append(_registry_champion(roles, champ is not None, registry))

    verdict = "promote" if all(c.passed for c in checks) else "reject"
    champion_version = registry.champion_version if registry is not None and champ else None
    if champion_version is None and champ and roles.get("champion_version") is not None:
        champion_version = str(roles["champion_version"])
    return Decision(
        decision=verdict,
        reasons=tuple(f"{'PASS' if c.passed else 'FAIL'} {c.reason}" for c in checks),
        checks=tuple(checks),
        candidate=cand_name,
        champion=champ_name,
        champion_version=champion_version,
        primary_metric=metric,
        candidate_metrics={s: float(cand[s][metric]) for s in sorted(cand)},
        champion_metrics={s: float(champ[s][metric]) for s in sorted(champ)} if champ else {},
    )


def with_load_check(decision: Decision, uri: str, problem: str | None) -> Decision:
    """`decision` once the registry has tried to load `uri` back: a ``loadable`` check
    appended, and the verdict a reject when `problem` (why it failed) is not None.

    The gate judges the report; whether the registered artifact works is only known
    after registering it, and a model nobody can load is no candidate, however well
    the report says it did.
    """
    if problem is None:
        check = Check("loadable", True, f"{uri} loads back and plans")
    else:
        check = Check("loadable", False, f"{uri} does not load: {problem}", {"error": problem})
    mark = "PASS" if check.passed else "FAIL"
    return replace(decision, decision=decision.decision if check.passed else "reject",
                   checks=(*decision.checks, check),
                   reasons=(*decision.reasons, f"{mark} {check.reason}"))


__all__ = ["Check", "Decision", "RegistryState", "decide", "with_load_check"]
