"""`validate_dataset`: strict parse, then the Great Expectations suite, then the reports.

Two gates in order. First every split file is read with the strict JSONL reader:
a malformed line stops the stage before GE with ``file:line: field: problem``
(GE would only see whatever survived parsing, so its verdict would be
meaningless). Then the flattened tables go through the GE suite. Either way
``out_dir/result.json`` is written (atomically) and the report returned; the
CLI prints `format_summary(report)` and exits 1 unless `report.success`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.config import ValidateDatasetConfig
from tracer1.data.jsonl import DataFileError, iter_episodes, split_path
from tracer1.data.validation.checks import all_checks
from tracer1.data.validation.frames import SplitFile, build_frames
from tracer1.data.validation.report import (
    Outcome,
    ValidationReport,
    summary_html,
    summary_lines,
)
from tracer1.io import atomic_dir, write_json

if TYPE_CHECKING:
    import pandas as pd

RESULT_FILE = "result.json"
DOCS_DIR = "docs"
SUMMARY_FILE = "summary.html"  # beside GE's index.html: the page that also reads offline


def load_split_files(input_dir: str | Path, splits: Sequence[str]) -> list[SplitFile]:
    """Parse every configured split strictly; a missing file becomes an empty, absent split.

    A missing split is left to the GE suite (``splits.n_episodes >= 1``) so it is
    reported with the other violations; a malformed file raises DataFileError, and so
    does a split file that resolves outside `input_dir` (a symlink out of the
    directory): what is validated must be what the directory holds.
    """
    files = []
    root = Path(input_dir).resolve()
    for split in splits:
        path = split_path(input_dir, split)
        if not path.resolve().is_relative_to(root):
            raise DataFileError(path, None, "<file>", f"resolves to {path.resolve()}, outside "
                                f"the trajectory directory {input_dir} (a symlink?)")
        if not path.is_file():
            files.append(SplitFile(split, str(path), exists=False))
            continue
        files.append(SplitFile(split, str(path), exists=True, episodes=tuple(iter_episodes(path))))
    return files


def dataset_stats(files: Sequence[SplitFile], frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Sizes reported beside the verdict."""
    return {
        "episodes": len(frames["episodes"]),
        "steps": len(frames["steps"]),
        "episodes_per_split": {sf.split: len(sf.episodes) for sf in files},
    }


def validate_dataset(cfg: ValidateDatasetConfig, input_dir: str | os.PathLike,
                     out_dir: str | os.PathLike) -> ValidationReport:
    """Validate the split files in `input_dir`; write `result.json` and Data Docs under
    `out_dir` (the stage's `Layout.trajectories` and `Layout.validation`)."""
    out_dir = Path(out_dir)
    result_path = out_dir / RESULT_FILE
    docs_dir = out_dir / DOCS_DIR
    paths = {"result_json": str(result_path)}
    started = time.perf_counter()
    try:
        files = load_split_files(input_dir, cfg.splits)
    except DataFileError as exc:
        return _unreadable(exc, result_path, docs_dir, paths)
    timings = {"read": time.perf_counter() - started}
    try:
        stats, outcomes = _run_suite(cfg, files, docs_dir, timings)
    except Exception:
        # A crash must not leave the previous run's verdict standing as if it were this one's.
        _discard(result_path, docs_dir)
        raise
    paths["docs_index"] = str(docs_dir / "index.html")
    paths["docs_summary"] = str(docs_dir / SUMMARY_FILE)

    report = ValidationReport(
        success=all(o.success for o in outcomes),
        summary=summary_lines(outcomes, stats),
        results=outcomes,
        paths=paths,
        stats=stats,
        timings=timings,
    )
    write_json(result_path, report.to_json())
    return report


def _run_suite(
    cfg: ValidateDatasetConfig, files: Sequence[SplitFile], docs_dir: Path,
    timings: dict[str, float],
) -> tuple[dict[str, Any], tuple[Outcome, ...]]:
    """Flatten the parsed files and run the GE suite on them, building Data Docs and
    `SUMMARY_FILE`; returns the dataset's stats and the outcomes."""
    mark = time.perf_counter()
    frames = build_frames(files)
    stats = dataset_stats(files, frames)
    timings["frames"] = time.perf_counter() - mark

    from tracer1.data.validation.gx_run import run_checks  # lazy: pulls in GE
    from tracer1.data.validation.offline_docs import make_self_contained

    mark = time.perf_counter()
    # Data Docs are built in a staging directory and swapped in whole, so a reader never
    # sees a mix of this run's pages and the previous run's.
    with atomic_dir(docs_dir) as staging:
        outcomes = tuple(run_checks(frames, all_checks(cfg), docs_dir=staging))
        make_self_contained(staging)  # GE's pages load their CSS/JS from CDNs
        (Path(staging) / SUMMARY_FILE).write_text(summary_html(outcomes, stats),
                                                  encoding="utf-8")
    timings["great_expectations"] = time.perf_counter() - mark
    return stats, outcomes


def _discard(result_path: Path, docs_dir: Path) -> None:
    result_path.unlink(missing_ok=True)
    shutil.rmtree(docs_dir, ignore_errors=True)


def _unreadable(
    exc: DataFileError, result_path: Path, docs_dir: Path, paths: dict[str, str]
) -> ValidationReport:
    """Report a file the strict reader refused; GE does not run."""
    # Stale docs from an earlier run would show a verdict this run did not reach.
    shutil.rmtree(docs_dir, ignore_errors=True)
    report = ValidationReport(
        success=False,
        summary=(f"validate_dataset FAILED before Great Expectations ran: {exc}",),
        paths=paths,
        error=str(exc),
    )
    write_json(result_path, report.to_json())
    return report
