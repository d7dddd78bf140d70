"""GAIA (gaia-benchmark/GAIA) questions -> one-step answer episodes.

Layout read (the Hub release): ``2023/<split>/metadata.jsonl``, one question per
line with ``task_id``, ``Question``, ``Level``, ``Final answer``, ``file_name``
(an attachment beside the metadata file, or empty) and ``Annotator Metadata``
{``Steps``, ``Number of steps``, ``How long did this take?``, ``Tools``,
``Number of tools``}.

| GAIA field          | ours                                                          |
|---------------------|---------------------------------------------------------------|
| Question            | the episode's instruction                                     |
| file_name           | copied to ``attachments/<episode_id>/``, named in the observation |
| Final answer        | the one step: answer(text=...)                                |
| Annotator Metadata  | `meta.annotator` (free-text steps and tools, not calls)       |
| Level               | the family: ``level1`` / ``level2`` / ``level3``              |

Answers are scored with `conventions.gaia_answers_match` (GAIA's normalised
exact match).

GAIA publishes no tool-call trajectories, so an episode is the question and its
reference answer; the annotators' steps ride along in `meta` for analysis. The
test split withholds answers (``?``): such records are errors (nothing to learn
or score), so import the validation split, or import leniently to skip them. The
folder names (``validation`` / ``test``) are not used as splits: the hash rule
splits the answered questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tracer1.actions import Answer
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import get, inside, text
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files

WITHHELD = ("", "?")


@register_importer("gaia")
class GaiaImporter:
    """``metadata.jsonl`` files (see the module docstring)."""

    name = "gaia"

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        for path in find_files(root, "metadata.jsonl"):
            yield from file_records(root, path)

    def convert(self, record: Record, root: Path) -> Draft:
        row = record.data
        answer = get(row, "Final answer", (str, int, float))
        answer = str(answer).strip()
        if answer in WITHHELD:
            raise FieldError("Final answer", f"withheld ({answer!r}): no reference answer "
                                             "(GAIA's test split)")
        level = get(row, "Level", (int, str), default="unknown")
        attachments: tuple[tuple[str, Path], ...] = ()
        observation = ""
        file_name = get(row, "file_name", str, default="")
        if file_name:
            base = (root / record.file).parent
            attachments = ((file_name, inside(base, file_name, "file_name")),)
            observation = f"Attached file: {file_name}"
        notes = get(row, "Annotator Metadata", dict, default={})
        return Draft(
            source_id=get(row, "task_id", str), family=f"level{level}",
            instruction=get(row, "Question", str),
            steps=(DraftStep(Answer(text(answer, "Final answer")), text=observation),),
            meta={"annotator": notes, "final_answer": answer},
            attachments=attachments,
        )


__all__ = ["GaiaImporter"]
