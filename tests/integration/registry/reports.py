"""Eval reports for gate tests: a candidate and optionally a champion, paired on 10 tasks."""

from tracer1.registry.gate import REPORT_SCHEMA_VERSION

TASKS = [f"tooluse-{i}" for i in range(10)]


def suite(successes, tasks=TASKS):
    rate = sum(successes) / len(successes)
    return {"success_rate": rate, "ci95": [max(0, rate - 0.2), min(1, rate + 0.2)],
            "episodes": len(successes), "mean_steps": 4.0, "repetition_rate": 0.0,
            "invalid_action_rate": 0.0, "per_task": dict(zip(tasks, successes, strict=True))}


def suites_report(candidate: dict[str, list[int]]) -> dict:
    """A report with no champion whose candidate ran several suites (suite → outcomes)."""
    suites = {name: suite(wins, [f"{name}-{i}" for i in range(len(wins))])
              for name, wins in candidate.items()}
    return {"schema_version": REPORT_SCHEMA_VERSION, "split": "test", "confidence": 0.95,
            "policies": {"stage2": {"suites": suites}},
            "roles": {"candidate": "stage2", "baseline": None, "champion": None}}


def report(candidate, champion=None, champion_version=None):
    policies = {"stage2": {"suites": {"tooluse": suite(candidate)}},
                "reactive": {"suites": {"tooluse": suite([0] * 10)}}}
    roles = {"candidate": "stage2", "baseline": "reactive", "champion": None}
    if champion is not None:
        policies["champion"] = {"suites": {"tooluse": suite(champion)}}
        roles.update(champion="champion", champion_version=champion_version)
    return {"schema_version": REPORT_SCHEMA_VERSION, "split": "test", "confidence": 0.95,
            "policies": policies, "roles": roles}
