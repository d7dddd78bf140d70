"""GAIA (gaia-benchmark/GAIA) questions -> one-step answer episodes.

Layouts read, per split folder ``2023/<split>/`` (``validation``, ``test``):

* **parquet** (the Hub release since 2025): ``metadata.parquet`` with every question
  of the split, and ``metadata.level1.parquet`` ... ``metadata.level3.parquet`` with
  the same questions by level. ``metadata.parquet`` is read when present (the level
  files would repeat its rows); otherwise the level files are. Records are addressed
  by row index (0-based).
* **JSONL** (the Hub release before): ``metadata.jsonl``, one question per line,
  addressed by line number; read only where the folder has no parquet metadata.

Each question has ``task_id``, ``Question``, ``Level`` (``"1"`` .. ``"3"`` in the
parquet release, an integer in the JSONL one), ``Final answer``, ``file_name`` (the
attachment's name, or empty), ``file_path`` (parquet only: the attachment relative to
the download root, ``2023/validation/<file_name>``) and ``Annotator Metadata``
{``Steps``, ``Number of steps``, ``How long did this take?``, ``Tools``,
``Number of tools``}.

| GAIA field          | ours                                                          |
|---------------------|---------------------------------------------------------------|
| Question            | the episode's instruction                                     |
| file_path/file_name | copied to ``attachments/<episode_id>/``, named in the observation (1) |
| Final answer        | the one step: answer(text=...)                                |
| Annotator Metadata  | `meta.annotator` (free-text steps and tools, not calls)       |
| Level               | the family: ``level1`` / ``level2`` / ``level3``              |

(1) ``file_path`` from the source root when it resolves there, else ``file_name``
beside the metadata file (a folder imported on its own).

Answers are scored with `conventions.gaia_answers_match` (GAIA's normalised exact
match). GAIA publishes no tool-call trajectories, so an episode is the question and
its reference answer; the annotators' steps ride along in `meta` for analysis.

**Withheld answers.** The test split's answers are ``?`` (kept private for the
leaderboard). Such a question is imported, not refused: it becomes an episode with
``meta.scored = false`` and ``meta.answer_withheld = true`` whose one step is
``answer(text="?")``, and it always goes to the test split (`Draft.scored`): usable
for closed-loop runs, never trained on, not scored (`gaia_answers_match` returns None
against ``?``). Answered questions are split by the hash rule (the folder names are
not used as splits: only ``validation`` has answers).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import Answer
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import get, inside, text
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files, parquet_rows, relative

WITHHELD = "?"
METADATA = "metadata.parquet"
LEVEL_FILES = "metadata.level*.parquet"
LEGACY = "metadata.jsonl"
_LEVEL = re.compile(r"\d+")


def metadata_files(root: Path) -> list[Path]:
    """The metadata files to read, per folder: the whole-split parquet, else the per-level
    parquets, else the JSONL (so no question is read twice)."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for path in find_files(root, METADATA, LEVEL_FILES, LEGACY):
        by_folder[path.parent].append(path)
    chosen: list[Path] = []
    for folder in sorted(by_folder, key=lambda p: relative(root, p)):
        files = by_folder[folder]
        whole = [p for p in files if p.name == METADATA]
        levels = [p for p in files if p.match(LEVEL_FILES)]
        chosen += whole or levels or [p for p in files if p.name == LEGACY]
    return chosen


def _attachment(row: dict[str, Any], root: Path, base: Path) -> tuple[str, Path] | None:
    """(name, file) of the question's attachment, or None; FieldError when it is missing."""
    name = get(row, "file_name", str, default="")
    path = get(row, "file_path", str, default="")
    if not name and not path:
        return None
    name = name or Path(path).name
    if path:
        try:
            return name, inside(root, path, "file_path")
        except FieldError as exc:
            if "escapes" in exc.problem or not name:
                raise
    return name, inside(base, name, "file_name")


def _level(row: dict[str, Any]) -> str:
    level = str(get(row, "Level", (int, str), default="unknown")).strip()
    if level != "unknown" and not _LEVEL.fullmatch(level):
        raise FieldError("Level", f"expected a level number (1, 2, 3), got {level!r}")
    return level


@register_importer("gaia")
class GaiaImporter:
    """``2023/<split>/metadata*.parquet`` or ``metadata.jsonl`` (see the module docstring)."""

    name = "gaia"

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        for path in metadata_files(root):
            rows = (parquet_rows(root, path) if path.suffix == ".parquet"
                    else file_records(root, path))
            for record in rows:
                if isinstance(record, Record):
                    record = Record(record.file, record.key,
                                    {"row": record.data, "split": path.parent.name})
                yield record

    def convert(self, record: Record, root: Path) -> Draft:
        row, split = record.data["row"], record.data["split"]
        answer = str(get(row, "Final answer", (str, int, float), default="")).strip()
        # The test split withholds answers as "?" (older copies: empty).
        withheld = answer == WITHHELD or (not answer and split == "test")
        if not answer and not withheld:
            raise FieldError("Final answer", "empty answer")
        attachment = _attachment(row, root, (root / record.file).parent)
        notes = get(row, "Annotator Metadata", dict, default={})
        return Draft(
            source_id=get(row, "task_id", str), family=f"level{_level(row)}",
            instruction=get(row, "Question", str),
            steps=(DraftStep(Answer(text(answer or WITHHELD, "Final answer")),
                             text=f"Attached file: {attachment[0]}" if attachment else ""),),
            meta={"annotator": notes, "final_answer": None if withheld else answer,
                  "answer_withheld": withheld, "gaia_split": split},
            attachments=(attachment,) if attachment else (),
            scored=not withheld,
        )


__all__ = ["GaiaImporter", "metadata_files"]
