"""What `validate_dataset` returns and writes: per-expectation outcomes and a readable summary.

A failing expectation reads, in the CLI and in `report.summary`::

    FAILED expect_column_values_to_be_between(steps.x, 0..1000): 2 of 840 rows
      - data/trajectories/train.jsonl:17 (episode tooluse/calc/3, step 3) x=1200
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracer1.data.validation.checks import Check

_LOCATION_KEYS = ("file", "line", "episode_id", "step", "split")


@dataclass(frozen=True)
class Outcome:
    """The result of one Check. `examples` are failing rows: file, line, ids and bad values."""

    check: Check
    success: bool
    observed: Any = None
    """GE's observed value for table-level expectations (a type, a column list)."""
    unexpected_count: int | None = None
    element_count: int | None = None
    examples: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    """GE raised while evaluating the expectation (counted as a failure)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.check.table,
            "expectation": self.check.type,
            "kwargs": dict(self.check.kwargs),
            "why": self.check.why,
            "success": self.success,
            "observed_value": self.observed,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "examples": list(self.examples),
            "error": self.error,
        }


@dataclass(frozen=True)
class ValidationReport:
    """Everything one `validate_dataset` run decided.

    `error` is set when a file could not be read at all (GE never ran; `results` is empty).
    """

    success: bool
    summary: tuple[str, ...]
    results: tuple[Outcome, ...] = ()
    paths: Mapping[str, str] = field(default_factory=dict)
    """What was written: ``result_json`` and, when GE ran, ``docs_index``."""
    error: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    """Row counts per table and episodes per split."""
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    """Seconds per phase (read, frames, great_expectations); not written to result.json."""

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.results if not o.success)

    def to_json(self) -> dict[str, Any]:
        """The content of result.json; deterministic (no timestamps) so DVC sees real changes."""
        return {
            "success": self.success,
            "error": self.error,
            "stats": dict(self.stats),
            "evaluated_expectations": len(self.results),
            "failed_expectations": len(self.failures),
            "expectations": [o.to_json() for o in self.results],
        }


def describe_row(row: Mapping[str, Any]) -> str:
    """``train.jsonl:17 (episode tooluse/calc/3, step 3) x=1200`` from one example row."""
    where = str(row.get("file", "?"))
    if row.get("line") is not None:
        where += f":{row['line']}"
    ids = []
    if row.get("episode_id") is not None:
        ids.append(f"episode {row['episode_id']}")
    if row.get("step") is not None:
        ids.append(f"step {row['step']}")
    if row.get("split") is not None and "line" not in row:
        ids.append(f"split {row['split']}")
    values = " ".join(
        f"{k}={_short(v)}" for k, v in row.items() if k not in _LOCATION_KEYS
    )
    return " ".join(filter(None, [where, f"({', '.join(ids)})" if ids else "", values]))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def outcome_lines(outcome: Outcome) -> list[str]:
    """One headline for a failed outcome plus one indented line per example row."""
    if outcome.error is not None:
        detail = f"GE raised: {outcome.error}"
    elif outcome.unexpected_count is not None:
        detail = f"{outcome.unexpected_count} of {outcome.element_count} rows"
    else:
        detail = f"observed {outcome.observed}"
    lines = [f"FAILED {outcome.check.label}: {detail}"]
    if outcome.check.why:
        lines[0] += f" — {outcome.check.why}"
    lines += [f"  - {describe_row(row)}" for row in outcome.examples]
    return lines


def summary_lines(outcomes: tuple[Outcome, ...], stats: Mapping[str, Any]) -> tuple[str, ...]:
    """The headline (passed/failed, sizes) followed by every failure with its examples."""
    failed = [o for o in outcomes if not o.success]
    sizes = ", ".join(f"{k}={v}" for k, v in stats.get("episodes_per_split", {}).items())
    verdict = "PASSED" if not failed else "FAILED"
    head = (
        f"validate_dataset {verdict}: {len(outcomes) - len(failed)}/{len(outcomes)} expectations "
        f"met; {stats.get('episodes', 0)} episodes ({sizes}), {stats.get('steps', 0)} steps"
    )
    lines = [head]
    for outcome in failed:
        lines += outcome_lines(outcome)
    return tuple(lines)


def format_summary(report: ValidationReport) -> str:
    """The text the CLI prints: the summary lines and where the reports were written."""
    lines = list(report.summary)
    for name, path in sorted(report.paths.items()):
        lines.append(f"{name}: {path}")
    return "\n".join(lines)
