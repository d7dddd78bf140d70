"""`import_dataset`: a public dataset on disk -> ``{train,val,test}.jsonl`` + screenshots.

One pass over the source: each record is converted (`Importer.convert`),
checked and assembled into an `Episode` (`assemble`), and its screenshots are
copied into a staging directory. Then the split rule places every episode
(`splits`), and the split files are written. The staging directory is swapped
in whole at the end (`tracer1.io.atomic_dir`), so a failed or killed import
leaves the previous output untouched and never a half-written one.

Malformed records: with ``strict=True`` (the default) any one fails the import,
nothing is written, and `ImportFailed` lists them as ``file:record: field: problem``;
with ``strict=False`` they are skipped and counted in the report (a skipped record
leaves none of its files behind). An import that yields no episode at all (a source
in a layout the importer does not read, or every record malformed) fails in both
modes: an empty dataset is never a success.

>>> report = import_dataset("gaia", "data/fixtures/importers/gaia", "/tmp/gaia")  # doctest: +SKIP
>>> report.episodes  # doctest: +SKIP
{'train': 1, 'val': 1, 'test': 1}
"""

from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer1.config import ArchiveLimits, ValidateDatasetConfig
from tracer1.data.importers.archive import extracted, is_archive
from tracer1.data.importers.assemble import Assembled, assemble
from tracer1.data.importers.errors import FieldError, ImportFailed, RecordError
from tracer1.data.importers.images import write_png
from tracer1.data.importers.registry import get_importer
from tracer1.data.importers.splits import Placement, SplitRule, assign_splits
from tracer1.data.jsonl import split_path
from tracer1.io import atomic_dir, write_json, write_jsonl
from tracer1.trajectory import episode_to_json

MAX_REPORTED = 50  # problems kept in the report / the exception (the count is exact)


@dataclass(frozen=True)
class ImportReport:
    """What one import did. `problems` are the first skipped records' messages."""

    format: str
    source: str
    out_dir: str
    records: int
    episodes: dict[str, int]
    steps: int
    files_copied: int
    skipped: int = 0
    problems: tuple[str, ...] = ()
    dropped_cross_split_duplicates: int = 0
    moved_to_fill_empty_splits: int = 0
    families: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format, "source": self.source, "out_dir": self.out_dir,
            "records": self.records, "episodes": dict(self.episodes), "steps": self.steps,
            "files_copied": self.files_copied, "skipped": self.skipped,
            "problems": list(self.problems),
            "dropped_cross_split_duplicates": self.dropped_cross_split_duplicates,
            "moved_to_fill_empty_splits": self.moved_to_fill_empty_splits,
            "families": dict(self.families),
        }


@contextlib.contextmanager
def _source_root(source: Path, limits: ArchiveLimits | None = None
                 ) -> Iterator[tuple[Path, str]]:
    """(directory to read, prefix for file names in messages); archives are extracted."""
    if not source.exists():
        raise FileNotFoundError(f"import source {source} does not exist")
    if source.is_file() and is_archive(source):
        with extracted(source, limits) as root:
            yield root, f"{source.name}!"
    else:
        yield source, ""


def _write_files(staging: Path, item: Assembled) -> int:
    try:
        for relative, src, where in item.copies:
            dest = staging / relative
            if relative.startswith("screenshots/"):
                write_png(src, dest, where)  # type: ignore[arg-type]
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)  # type: ignore[arg-type]
    except FieldError:
        _remove_files(staging, item.episode.episode_id)  # a skipped record leaves nothing
        raise
    return len(item.copies)


def _remove_files(staging: Path, episode_id: str) -> None:
    for folder in ("screenshots", "attachments"):
        shutil.rmtree(staging / folder / episode_id, ignore_errors=True)


def _no_episodes(format: str, source: Path, records: int, problems: list[str]) -> ImportFailed:
    if records == 0:
        why = (f"no {format} records found: is this the dataset in one of the layouts the "
               f"importer reads (its module docstring, docs/datasets.md)?")
    else:
        why = f"all {records} record(s) were malformed or dropped"
    return ImportFailed(f"import {format} from {source}: 0 episodes; {why}", tuple(problems))


def import_dataset(
    format: str,
    source_path: str | Path,
    out_dir: str | Path,
    *,
    strict: bool = True,
    split_rule: SplitRule | None = None,
    limits: ValidateDatasetConfig | None = None,
    options: dict[str, Any] | None = None,
    report_path: str | Path | None = None,
    archive_limits: ArchiveLimits | None = None,
) -> ImportReport:
    """Import `source_path` (a directory, a file, or a zip / tar archive) in `format`.

    `split_rule` places episodes (`SplitRule`: fractions, the dataset's own split,
    aliases); `limits` are the dataset limits validation will apply (its defaults
    when None); `options` go to the importer's constructor. Raises `ImportFailed`
    (strict) before anything is written, and in either mode when no episode results;
    `ArchiveError` for an unsafe archive or one that would expand past `archive_limits`
    (its defaults when None).
    """
    rule = split_rule or SplitRule()
    limits = limits or ValidateDatasetConfig()
    importer = get_importer(format, **(options or {}))
    source = Path(source_path)
    problems: list[str] = []
    n_problems = 0
    records = 0
    kept: list[tuple[Assembled, str | None]] = []
    seen: dict[str, str] = {}
    files = 0

    with _source_root(source, archive_limits) as (root, prefix), atomic_dir(out_dir) as staging:
        for item in importer.records(root):
            records += 1
            if isinstance(item, RecordError):
                error = RecordError(prefix + item.file, item.record, item.field, item.problem)
            else:
                where = (prefix + item.file, item.key)
                try:
                    draft = importer.convert(item, root)
                    built = assemble(draft, importer.name, limits)
                    eid = built.episode.episode_id
                    if eid in seen:
                        raise FieldError("episode_id", f"{eid!r} duplicates record {seen[eid]}")
                    files += _write_files(staging, built)
                    seen[eid] = f"{where[0]}:{where[1]}"
                    kept.append((built, draft.split))
                    continue
                except FieldError as exc:
                    error = RecordError.wrap(*where, exc)
            n_problems += 1
            if len(problems) < MAX_REPORTED:
                problems.append(str(error))
        if n_problems and strict:
            raise ImportFailed(
                f"import {format} from {source}: {n_problems} malformed record(s) of {records}; "
                "nothing written (strict=False skips them)", tuple(problems))
        if not kept:
            raise _no_episodes(format, source, records, problems)
        placements = [Placement(b.episode.instruction, split,
                                held_out=b.episode.meta.get("scored") is False)
                      for b, split in kept]
        assignment = assign_splits(placements, rule)
        by_split: dict[str, list[dict[str, Any]]] = {name: [] for name in rule.splits}
        for (built, _), split in zip(kept, assignment.splits, strict=True):
            if split is None:
                _remove_files(staging, built.episode.episode_id)  # a dropped duplicate
                continue
            record = episode_to_json(built.episode)
            record["split"] = split
            by_split[split].append(record)
        for name, rows in by_split.items():
            write_jsonl(split_path(staging, name), rows)

    families = Counter(rec["family"] for rows in by_split.values() for rec in rows)
    report = ImportReport(
        format=format, source=str(source), out_dir=str(out_dir), records=records,
        episodes={name: len(rows) for name, rows in by_split.items()},
        steps=sum(len(rec["steps"]) for rows in by_split.values() for rec in rows),
        files_copied=files, skipped=n_problems, problems=tuple(problems),
        dropped_cross_split_duplicates=assignment.dropped_duplicates,
        moved_to_fill_empty_splits=assignment.moved_to_fill,
        families=dict(sorted(families.items())),
    )
    if report_path is not None:
        write_json(report_path, report.to_json())
    return report


__all__ = ["MAX_REPORTED", "ImportReport", "import_dataset"]
