"""What `validate_dataset` returns and writes: per-expectation outcomes and a readable summary.

A failing expectation reads, in the CLI and in `report.summary`::

    FAILED expect_column_values_to_be_between(steps.x, 0..1000): 2 of 840 rows
      - data/trajectories/train.jsonl:17 (episode tooluse/calc/3, step 3) x=1200
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
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
    """What was written: ``result_json`` and, when GE ran, ``docs_index`` (GE's Data Docs)
    and ``docs_summary`` (`summary_html`: the same verdict in one self-contained page)."""
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


# --- summary.html: the whole verdict in one self-contained page

_PAGE_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
.verdict-pass { color: #176d2c; } .verdict-fail { color: #b3261e; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr.fail { background: #fdecea; } tr.fail td.status { color: #b3261e; font-weight: bold; }
tr.pass td.status { color: #176d2c; }
code { font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
ul { margin: 0; padding-left: 1.2em; }
"""
_COLUMNS = ("status", "expectation", "observed", "unexpected", "failing rows", "why")


def summary_html(outcomes: Sequence[Outcome], stats: Mapping[str, Any]) -> str:
    """One HTML page with every expectation's verdict and observed values, per table.

    GE's own Data Docs fill their tables with JavaScript (vendored into the site by
    `offline_docs`, so they work offline too) and carry timestamps. This page has no
    script and no external URL, inline CSS only, and is deterministic (no timestamps),
    so it reads the same anywhere and diffs cleanly.
    """
    head, *_ = summary_lines(tuple(outcomes), stats)
    failed = any(not o.success for o in outcomes)
    verdict = "verdict-fail" if failed else "verdict-pass"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>validate_dataset: " + ("FAILED" if failed else "PASSED") + "</title>",
        f"<style>{_PAGE_STYLE}</style></head><body>",
        f'<h1 class="{verdict}">{_esc(head)}</h1>',
    ]
    if failed:  # the failures first, then every table's whole contract
        parts.append('<h2 id="failed">failed</h2>')
        parts.append(_outcome_table([o for o in outcomes if not o.success], "failures"))
    tables: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        tables.setdefault(outcome.check.table, []).append(outcome)
    for table, rows in tables.items():
        met = sum(o.success for o in rows)
        parts.append(f'<h2 id="{_esc(table)}">{_esc(table)}: {met}/{len(rows)} met</h2>')
        parts.append(_outcome_table(rows, "expectations", table))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _outcome_table(rows: Sequence[Outcome], kind: str, table: str = "") -> str:
    """A <table class=`kind`> with one row per outcome (`table`: the data table it checks)."""
    header = "".join(f"<th>{c}</th>" for c in _COLUMNS)
    body = "\n".join(_outcome_row(o) for o in rows)
    return (f'<table class="{kind}" data-table="{_esc(table)}"><thead><tr>{header}'
            f"</tr></thead>\n<tbody>\n{body}\n</tbody></table>")


def _outcome_row(outcome: Outcome) -> str:
    """One <tr>: PASS/FAIL, the expectation, what GE observed and the failing rows."""
    state = "pass" if outcome.success else "fail"
    if outcome.unexpected_count is not None:
        unexpected = f"{outcome.unexpected_count} of {outcome.element_count}"
    else:
        unexpected = ""
    observed = _esc(f"GE raised: {outcome.error}") if outcome.error else _code(outcome.observed)
    examples = "".join(f"<li>{_esc(describe_row(row))}</li>" for row in outcome.examples)
    cells = [
        state.upper(),
        f"<code>{_esc(outcome.check.label)}</code>",
        observed,
        _esc(unexpected),
        f"<ul>{examples}</ul>" if examples else "",
        _esc(outcome.check.why),
    ]
    tds = "".join(f'<td class="{c.replace(" ", "-")}">{v}</td>'
                  for c, v in zip(_COLUMNS, cells, strict=True))
    return f'<tr class="{state}">{tds}</tr>'


def _code(value: Any, limit: int = 400) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True, default=str)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"<code>{_esc(text)}</code>"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)
