"""The importer contract and the registry that finds importers by format name.

An importer reads a dataset the user already has on disk (nothing is fetched)
in two halves, so every problem can name its file *and* record:

* `records(root)` walks the source and yields one `Record` per source episode
  (file, record address, raw data), or a `RecordError` for something it could not
  even frame (a truncated TFRecord, a JSON file that does not parse);
* `convert(record, root)` maps one raw record into a `Draft` in our action
  language, raising `FieldError` naming the field.

The format name is also the imported episodes' `suite` (``androidcontrol``,
``gui_odyssey`` ...). Built-in importers register themselves when
`tracer1.data.importers.formats` is imported, which happens lazily, on the
first look-up (no import-time cost for modules that only need the contract).

>>> "androidcontrol" in importer_names()
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tracer1.config import ConfigError, ImportSourceConfig
from tracer1.data.importers.draft import Draft
from tracer1.data.importers.errors import RecordError


@dataclass(frozen=True)
class Record:
    """One raw source episode and where it came from (`file` relative to the source root)."""

    file: str
    key: str
    data: Any


@runtime_checkable
class Importer(Protocol):
    name: str
    """The format name; also the `suite` of every imported episode."""

    def records(self, root: Path) -> Iterator[Record | RecordError]: ...

    def convert(self, record: Record, root: Path) -> Draft: ...


_IMPORTERS: dict[str, Callable[[], Importer]] = {}


def register_importer(name: str) -> Callable[[Callable[[], Importer]], Callable[[], Importer]]:
    """Class decorator: make an importer available by format name (no if/elif ladders)."""

    def deco(factory: Callable[[], Importer]) -> Callable[[], Importer]:
        known = _IMPORTERS.get(name)
        # The same class imported twice (doctest collection) is not a conflict.
        if known is not None and _qualified(known) != _qualified(factory):
            raise ValueError(f"importer {name!r} registered twice")
        _IMPORTERS[name] = factory
        return factory

    return deco


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _load_builtin() -> None:
    import tracer1.data.importers.formats  # noqa: F401  (registers the built-in formats)


def importer_names() -> tuple[str, ...]:
    """Every registered format name, sorted."""
    _load_builtin()
    return tuple(sorted(_IMPORTERS))


def get_importer(name: str, **options: Any) -> Importer:
    """A fresh importer for format `name`; `options` go to its constructor."""
    _load_builtin()
    try:
        factory = _IMPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown import format {name!r} (known: "
                         f"{', '.join(sorted(_IMPORTERS))})") from None
    return factory(**options)


def check_imports(imports: Mapping[str, ImportSourceConfig], source: str) -> None:
    """Each `build_dataset.imports` entry names a registered format that takes its
    `options`; a `ConfigError` naming `source` (the params file) and the key otherwise.
    (The checks that need no importer are `tracer1.config`'s.)"""
    formats = importer_names()
    for name, imp in sorted(imports.items()):
        where = f"{source}: build_dataset.imports.{name}"
        if imp.format not in formats:
            raise ConfigError(f"{where}.format: unknown {imp.format!r} "
                              f"(known: {', '.join(formats)})")
        try:
            get_importer(imp.format, **imp.options)  # options are its constructor arguments
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}.options: {exc}") from None


__all__ = ["Importer", "Record", "check_imports", "get_importer", "importer_names",
           "register_importer"]
