"""Typed access to raw source records: every problem comes back as a `FieldError` naming the path.

Format modules read untrusted JSON-ish data through these helpers so each
importer reports ``steps[3].info: expected ...`` instead of a bare KeyError.

>>> get({"goal": "Open the app"}, "goal", str)
'Open the app'
>>> get({"steps": {}}, "steps", list, where="episode")
Traceback (most recent call last):
...
tracer1.data.importers.errors.FieldError: episode.steps: expected array, got object
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tracer1.actions import MAX_TEXT_CHARS
from tracer1.data.importers.errors import FieldError

_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array",
          dict: "object"}
_MISSING = object()


def join(where: str, key: str | int) -> str:
    """``steps`` + 3 -> ``steps[3]``; ``steps[3]`` + ``info`` -> ``steps[3].info``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_NAMES.get(k, k.__name__) for k in kinds)


def check(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    """`value` if it is a `kind` (a bool is never an int or a number here)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise FieldError(where, f"expected {kind_name(kind)}, got boolean")
    if not isinstance(value, kinds):
        got = _NAMES.get(type(value), type(value).__name__) if value is not None else "null"
        raise FieldError(where, f"expected {kind_name(kind)}, got {got}")
    return value


def get(obj: Any, key: str | int, kind: type | tuple[type, ...], *, where: str = "",
        default: Any = _MISSING) -> Any:
    """`obj[key]` checked to be a `kind`; `default` (when given) for a missing or null field."""
    path = join(where, key)
    container = (list, tuple) if isinstance(key, int) else dict
    if not isinstance(obj, container):
        raise FieldError(where or "<record>", f"expected {kind_name(container)}, got "
                                             f"{_NAMES.get(type(obj), type(obj).__name__)}")
    try:
        value = obj[key]
    except (KeyError, IndexError):
        value = None
    if value is None:
        if default is not _MISSING:
            return default
        raise FieldError(path, "missing required field")
    return check(value, kind, path)


def text(value: str, where: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """A string argument of the action language: at most `limit` characters, one line is
    not required (JSON escapes newlines), but it must not be empty where it names something."""
    if len(value) > limit:
        raise FieldError(where, f"{len(value)} characters, over the {limit} limit")
    return value


def number(value: Any, where: str) -> float:
    """An int or float (not a bool); numeric strings are refused, formats never use them."""
    return float(check(value, (int, float), where))


def json_field(value: Any, where: str) -> Any:
    """A field that some layouts store as a JSON string and others as the decoded value."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise FieldError(where, f"invalid JSON: {exc.msg} at column {exc.colno}") from None


def inside(root: Path, relative: str, where: str) -> Path:
    """`root / relative`, refused when it escapes `root` (absolute path, ``..``, symlink out).

    Record fields name files; a hostile or broken record must not make the
    importer read (and copy into the dataset) a file outside the source tree.
    """
    if not relative:
        raise FieldError(where, "empty file name")
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise FieldError(where, f"path {relative!r} escapes the dataset directory")
    if not path.is_file():
        raise FieldError(where, f"file not found: {relative}")
    return path


__all__ = ["check", "get", "inside", "join", "json_field", "kind_name", "number", "text"]
