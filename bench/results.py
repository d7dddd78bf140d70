"""Benchmark results: one `Row` per measured number, the machine they ran on, and the writers.

A row says what was measured, the number (with its unit), the ratio to the
reference it was measured beside (None where there is none), and how it was
measured. `write_results` writes the JSON and the Markdown table atomically.

>>> row = Row("reward", "batch vs per-item", 0.019, "s/call", ratio(0.131, 0.019), "median of 7")
>>> markdown_table([row]).splitlines()[2]
'| reward | batch vs per-item | 0.019 s/call | 6.89× | median of 7 |'
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import os
import platform
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer1.io import atomic_open, write_json

SCHEMA = 1


@dataclass(frozen=True)
class Row:
    """One measured number of a benchmark."""

    bench: str
    """The benchmark that measured it (`grpo_overhead`, `reward_throughput`, ...)."""
    what: str
    value: float | None
    """None when the benchmark could not measure it (`note` says why)."""
    unit: str
    ratio: float | None = None
    """Ours / reference (or reference-relative speed), as the `what` text says."""
    how: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Raw numbers behind the row (per-repeat times, ...); JSON only."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def median(values: Iterable[float]) -> float:
    """The median; a ValueError names the problem when there is nothing to take it of."""
    values = list(values)
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def ratio(numerator: float, denominator: float) -> float | None:
    """`numerator / denominator`, None when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else None


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float | None:
    """The median of per-repeat ratios: arms timed back to back share the machine's load,
    so this is steadier than the ratio of medians when other processes come and go."""
    ratios = [r for n, d in zip(numerators, denominators, strict=True)
              if (r := ratio(n, d)) is not None]
    return median(ratios) if ratios else None


def machine() -> dict[str, Any]:
    """Where the numbers come from: date, CPUs, RAM, load, Python and library versions."""
    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    for name in ("torch", "transformers", "trl"):
        try:  # the installed version, without paying for the import
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return info


def _ram_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def format_number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def format_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (a row's note follows its `how`)."""
    lines = ["| bench | what | number | ratio | how measured |", "|---|---|---|---|---|"]
    for row in rows:
        how = f"{row.how} ({row.note})" if row.note else row.how
        cells = [row.bench, row.what, format_number(row.value, row.unit),
                 format_ratio(row.ratio), how]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_report(info: dict[str, Any], rows: Sequence[Row], errors: dict[str, str],
                    details: dict[str, Any] | None = None) -> str:
    """`results.md`: the machine line, which benchmarks an earlier run measured (their
    `details` carry another date), the table, and any benchmark that failed."""
    versions = ", ".join(f"{k} {info[k]}" for k in ("python", "torch", "transformers", "trl")
                         if k in info)
    head = (f"# Benchmarks\n\n{info['date']} on {info['cpu_count']} CPUs, "
            f"{info.get('ram_gib')} GiB RAM, load average {info.get('load_average')}; "
            f"{versions}.\n\n")
    earlier = {name: d["date"] for name, d in (details or {}).items()
               if d.get("date", info["date"]) != info["date"]}
    if earlier:
        head += ("Not re-measured in this run, kept from an earlier one: "
                 + ", ".join(f"`{n}` ({date})" for n, date in sorted(earlier.items())) + ".\n\n")
    failed = "".join(f"* `{name}` failed: {_cell(msg)}\n" for name, msg in errors.items())
    return head + markdown_table(rows) + (f"\n{failed}" if failed else "")


def write_results(directory: str | os.PathLike, info: dict[str, Any], rows: Sequence[Row],
                  errors: dict[str, str], details: dict[str, Any]) -> tuple[Path, Path]:
    """`results.json` and `results.md` in `directory`, each written atomically."""
    directory = Path(directory)
    json_path, md_path = directory / "results.json", directory / "results.md"
    write_json(json_path, {
        "schema": SCHEMA,
        "machine": info,
        "rows": [row.to_json() for row in rows],
        "errors": errors,
        "details": details,
    })
    with atomic_open(md_path) as fh:
        fh.write(markdown_report(info, rows, errors, details))
    return json_path, md_path


__all__ = [
    "Row",
    "format_number",
    "format_ratio",
    "machine",
    "markdown_report",
    "markdown_table",
    "median",
    "paired_ratio",
    "ratio",
    "write_results",
]
