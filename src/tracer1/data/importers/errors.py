"""What goes wrong while importing, named so a person can open the right record.

A malformed record is reported like `tracer1.data.jsonl` reports a bad line,
``file:record: field: problem``, where `record` is whatever addresses a record in
that format (a JSONL line, a JSON array index or key, a TFRecord ordinal, a
parquet row):

    annotations/ep7.json:ep7: steps[3].info: expected [[x, y]] for CLICK, got ''
    android_control-00000-of-00020:12: actions[2].x: 1500 is outside the 1080-px screen

`FieldError` is what format code raises (it knows the field, not the file); the
reading loop turns it into a `RecordError` that knows both.
"""

from __future__ import annotations


class FieldError(ValueError):
    """A field of one record is missing or malformed; `field` is its path inside the record."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class RecordError(ValueError):
    """``file:record: field: problem`` for one record of a source dataset.

    >>> str(RecordError("episodes.jsonl", "7", "goal", "missing required field"))
    'episodes.jsonl:7: goal: missing required field'
    """

    def __init__(self, file: str, record: str | int, field: str, problem: str):
        super().__init__(f"{file}:{record}: {field}: {problem}")
        self.file = file
        self.record = str(record)
        self.field = field
        self.problem = problem

    @classmethod
    def wrap(cls, file: str, record: str | int, exc: FieldError) -> RecordError:
        return cls(file, record, exc.field, exc.problem)


class ArchiveError(ValueError):
    """An archive member would land outside the extraction directory, or is not a plain file."""


class ImportFailed(RuntimeError):
    """A strict import found malformed records; nothing was written.

    `problems` holds the ``file:record: field: problem`` lines (the first ones, when many).
    """

    def __init__(self, summary: str, problems: tuple[str, ...]):
        lines = [summary, *(f"  {p}" for p in problems)]
        super().__init__("\n".join(lines))
        self.problems = problems


__all__ = ["ArchiveError", "FieldError", "ImportFailed", "RecordError"]
