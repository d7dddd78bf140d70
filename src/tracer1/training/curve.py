"""Training curves: every logged step goes to the caller's `log` hook and into a table.

The same rows feed MLflow (through `log`, which the CLI points at the tracking
run) and `dvc plots` (through `write_curve`, a CSV with one row per logged step),
so the two views of a run never disagree.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from tracer1.io import atomic_open

LogFn = Callable[[int, dict[str, float]], None]
"""`log(step, metrics)`: called once per logged training step."""

# Summary keys the HF Trainer logs once at the end; they are returned as metrics, not plotted.
_SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second",
                 "train_loss", "total_flos", "epoch"}


def numeric(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite numeric entries of a Trainer log record."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[key] = float(value)
    return out


def step_metrics(record: dict[str, Any]) -> dict[str, float]:
    """The per-step metrics of one Trainer log record (empty for the end-of-run summary)."""
    values = numeric(record)
    values.pop("step", None)
    if set(values) <= _SUMMARY_KEYS:
        return {}
    return {k: v for k, v in values.items() if k not in _SUMMARY_KEYS}


def curve_rows(log_history: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """One row per logged step from `trainer.state.log_history`.

    Read from the trainer state rather than collected live, so a resumed run's curve
    still holds the steps logged before the interruption (they are in the checkpoint).
    """
    rows = []
    for record in log_history:
        values = step_metrics(record)
        if values and "step" in record:
            rows.append({"step": float(record["step"]), **values})
    return rows


def make_callback(log: LogFn) -> Any:
    """A `TrainerCallback` passing each logged step's metrics to `log(step, metrics)`."""
    from transformers import TrainerCallback

    class LogCallback(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
            values = step_metrics(logs or {})
            if values:
                log(int(state.global_step), values)

    return LogCallback()


def trainer_callbacks(label: str, log: LogFn | None) -> list[Any]:
    """The callbacks every trainer here runs with: step progress under `label` (i/N,
    rate, ETA; `tracer1.progress`, since tqdm is off) and, when given, the `log` hook."""
    from tracer1.progress import trainer_progress

    return [trainer_progress(label)] + ([make_callback(log)] if log is not None else [])


def quiet(trainer: Any) -> None:
    """Drop the Trainer's stdout printer: metrics go through `log` and the curve instead."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def write_curve(path: str | os.PathLike, rows: Sequence[dict[str, float]]) -> None:
    """Write rows as CSV (`step` first, then every key any row has, sorted), atomically."""
    keys = sorted({k for row in rows for k in row} - {"step"})
    with atomic_open(path) as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", *keys], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({"step": int(row["step"]), **{k: row.get(k, "") for k in keys}})


__all__ = [
    "LogFn",
    "curve_rows",
    "make_callback",
    "numeric",
    "quiet",
    "step_metrics",
    "trainer_callbacks",
    "write_curve",
]


def train_runtime(result: Any) -> float:
    """trl's reported train runtime in seconds; 0 when training was skipped (max_steps 0)."""
    return round(float(result.metrics.get("train_runtime", 0.0)), 2) if result else 0.0
