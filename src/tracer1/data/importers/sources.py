"""Framing records out of source files: JSON, JSONL, parquet, and where each record sits.

Importers differ in what a record means, not in how JSON files are read; these
helpers yield `Record`s addressed the way a person would look them up:
a JSONL line number, a JSON array index, a JSON object key, a parquet row index
(0-based, as pyarrow and pandas count), or the file itself (one episode per file).
A file that does not parse yields a `RecordError`.

>>> [r.key for r in json_records(b'[{"a": 1}, {"a": 2}]', "x.json", "list")]
['0', '1']
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tracer1.data.importers.errors import RecordError
from tracer1.data.importers.registry import Record


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def find_files(root: Path, *patterns: str) -> list[Path]:
    """Files under `root` matching any glob pattern, sorted (a stable record order)."""
    found = {p for pattern in patterns for p in root.rglob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def jsonl_records(data: bytes, name: str) -> Iterator[Record | RecordError]:
    """One record per non-blank line, addressed by its 1-based line number."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield Record(name, str(number), json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield RecordError(name, number, "<json>", _json_problem(exc))


def json_records(data: bytes, name: str, shape: str) -> Iterator[Record | RecordError]:
    """Records of one JSON file: `shape` is ``list`` (array of records), ``dict`` (object of
    records by key) or ``one`` (the file is one record, addressed by its stem)."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        yield RecordError(name, "<file>", "<json>", _json_problem(exc))
        return
    if shape == "one":
        yield Record(name, Path(name).stem, doc)
    elif shape == "list" and isinstance(doc, list):
        yield from (Record(name, str(i), rec) for i, rec in enumerate(doc))
    elif shape == "dict" and isinstance(doc, dict):
        yield from (Record(name, str(key), rec) for key, rec in doc.items())
    else:
        expected = "an array" if shape == "list" else "an object"
        yield RecordError(name, "<file>", "<json>", f"expected {expected} of records, got "
                                                    f"{type(doc).__name__}")


def file_records(root: Path, path: Path, shape: str = "list") -> Iterator[Record | RecordError]:
    """Records of `path` by its suffix: ``.jsonl`` line by line, ``.json`` by `shape`."""
    name = relative(root, path)
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        yield from jsonl_records(data, name)
    else:
        yield from json_records(data, name, shape)


def parquet_rows(root: Path, path: Path, columns: tuple[str, ...] | None = None,
                 batch_size: int = 256) -> Iterator[Record | RecordError]:
    """One record per parquet row (a dict of its columns), addressed by its row index.

    Read in batches, so a large file is never held whole; `columns` (those present)
    limits what is decoded. A file pyarrow cannot read yields one `RecordError`.
    """
    import pyarrow.parquet as pq  # lazy: only parquet sources pay for it

    name = relative(root, path)
    index = 0
    try:
        table = pq.ParquetFile(path)
        present = [c for c in columns if c in table.schema_arrow.names] if columns else None
        for batch in table.iter_batches(columns=present, batch_size=batch_size):
            for row in batch.to_pylist():
                yield Record(name, str(index), row)
                index += 1
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is both
        yield RecordError(name, "<file>" if index == 0 else index, "<parquet>", str(exc))


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return f"invalid UTF-8 ({exc})"


__all__ = ["file_records", "find_files", "json_records", "jsonl_records", "parquet_rows",
           "relative"]
