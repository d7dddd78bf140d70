"""Episode JSONL files: one episode per line, read strictly, written atomically.

Every problem in a file is reported as ``file:line: field: problem`` so a
person can open the file at the right line:

    data/trajectories/train.jsonl:7: <json>: Expecting ',' delimiter at column 12
    data/trajectories/train.jsonl:9: steps[3].action: unknown verb 'clik'

Lines are split on ``\\n`` only (not `str.splitlines`, which also splits on
form feeds and U+2028), so line numbers match what editors and `sed -n` show.
Blank lines are skipped. The schema itself lives in `tracer1.trajectory`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tracer1.config import ValidateDatasetConfig
from tracer1.io import write_jsonl
from tracer1.trajectory import (
    Episode,
    LongInteger,
    SchemaError,
    episode_from_json,
    episode_to_json,
)

T = TypeVar("T")

# The split names are configured once, in the config dataclass; this is its default.
SPLITS: tuple[str, ...] = ValidateDatasetConfig.splits


class DataFileError(ValueError):
    """A data file is missing or malformed; the message is ``file:line: field: problem``.

    `line` is 1-based; None when the problem concerns the whole file (a missing split).
    """

    def __init__(self, file: str | os.PathLike, line: int | None, field: str, problem: str):
        where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{where}: {field}: {problem}")
        self.file = str(file)
        self.line = line
        self.field = field
        self.problem = problem


def iter_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, decoded text) for each non-blank line of `path`.

    The file is read as bytes and decoded line by line so an invalid UTF-8 byte
    is reported at its own line and column instead of as a whole-file failure.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataFileError(path, None, "<file>", "no such file") from None
    except OSError as exc:
        raise DataFileError(path, None, "<file>", exc.strerror or str(exc)) from None
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 1].hex()
            raise DataFileError(
                path, number, "<encoding>", f"invalid UTF-8 byte 0x{bad} at column {exc.start + 1}"
            ) from None
        yield number, text


def _parse_int(literal: str) -> int | LongInteger:
    # Past 20 characters no integer fits in 64 bits; converting a 5,000-digit literal would
    # raise (Python's 4,300-digit limit) without naming the field `check_values` will name.
    return int(literal) if len(literal) <= 20 else LongInteger(len(literal.lstrip("-")))


def decode_record(path: str | os.PathLike, number: int, text: str,
                  from_json: Callable[[Any], T]) -> T:
    """Decode one JSONL line with `from_json` (a strict record decoder raising SchemaError),
    naming file, line and field on failure."""
    try:
        record = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise DataFileError(path, number, "<json>", f"{exc.msg} at column {exc.colno}") from None
    except RecursionError:
        # The C decoder refuses to nest past Python's recursion limit; say so, not crash.
        raise DataFileError(path, number, "<json>", "nested too deeply to parse") from None
    try:
        return from_json(record)
    except SchemaError as exc:
        raise DataFileError(path, number, exc.field, exc.problem) from None


def decode_line(path: str | os.PathLike, number: int, text: str) -> Episode:
    """Decode one JSONL line into an Episode, naming file, line and field on failure."""
    return decode_record(path, number, text, episode_from_json)


def iter_episodes(path: str | os.PathLike) -> Iterator[tuple[int, Episode]]:
    """Yield (line number, Episode) for each record of a JSONL file; raises DataFileError."""
    for number, text in iter_lines(path):
        yield number, decode_line(path, number, text)


def read_episodes(path: str | os.PathLike) -> list[Episode]:
    """All episodes of a JSONL file, in file order; raises DataFileError on the first problem.

    >>> read_episodes("data/trajectories/val.jsonl")  # doctest: +SKIP
    [Episode(episode_id='tooluse/calc/200', ...), ...]
    """
    return [episode for _, episode in iter_episodes(path)]


def write_episodes(path: str | os.PathLike, episodes: Iterable[Episode]) -> int:
    """Write episodes atomically, one JSON object per line; returns how many were written."""
    return write_jsonl(path, (episode_to_json(e) for e in episodes))


def split_path(directory: str | os.PathLike, split: str) -> Path:
    """Where a split lives inside a trajectory directory: ``{directory}/{split}.jsonl``."""
    return Path(directory) / f"{split}.jsonl"


def read_split_dir(
    directory: str | os.PathLike, splits: Sequence[str] = SPLITS
) -> dict[str, list[Episode]]:
    """Read ``{split}.jsonl`` for every split; a missing split file is an error, not empty."""
    out: dict[str, list[Episode]] = {}
    for split in splits:
        path = split_path(directory, split)
        if not path.is_file():
            raise DataFileError(path, None, "<file>", f"missing split file for '{split}'")
        out[split] = read_episodes(path)
    return out


__all__ = [
    "SPLITS",
    "DataFileError",
    "iter_episodes",
    "read_episodes",
    "read_split_dir",
    "split_path",
    "write_episodes",
]
