"""Typed configuration: one frozen dataclass per stage, one section per stage in params.yaml.

Defaults live here and only here; `params.yaml` chooses values. Loading is
strict: an unknown key or a wrong type is an error naming the file and the
key path (``params.yaml: build_dataset.seeds.trian: unknown field``), so a
typo never silently falls back to a default. Nothing happens at import.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PARAMS = Path("params.yaml")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ForecastConfig:
    """The forecasting problem shared by data windows, training and evaluation."""

    horizon: int = 5
    """T: actions forecast per plan (the paper's sweet spot is 5-10)."""
    history: int = 4
    """K: past actions shown to the planner in its prompt."""


@dataclass(frozen=True)
class SuiteConfig:
    """One environment suite used by the pipeline."""

    families: tuple[str, ...] = ()
    """Task families to draw from; empty means every family the suite has."""
    difficulties: tuple[int, ...] = (1, 2, 3)
    """Difficulty levels, assigned round-robin over seeds."""
    episodes_per_family: int | None = None
    """Cap on episodes per family and split (None: one per seed)."""


@dataclass(frozen=True)
class SeedRange:
    """Half-open range of task seeds [start, stop)."""

    start: int = 0
    stop: int = 0

    def seeds(self) -> range:
        return range(self.start, self.stop)


@dataclass(frozen=True)
class SplitSeeds:
    """Task seeds per split; the ranges must not overlap (no task leaks across splits)."""

    train: SeedRange = SeedRange(0, 200)
    val: SeedRange = SeedRange(200, 230)
    test: SeedRange = SeedRange(230, 260)

    def items(self) -> list[tuple[str, SeedRange]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]


@dataclass(frozen=True)
class BuildDatasetConfig:
    """`build_dataset`: run scripted experts over suites and seeds, write expert trajectories."""

    out_dir: str = "data/trajectories"
    """Directory of `{split}.jsonl` files (a DVC output)."""
    metrics_path: str = "reports/build_dataset.json"
    """Expert success rates and dataset sizes (a DVC metric)."""
    suites: dict[str, SuiteConfig] = field(default_factory=lambda: {"tooluse": SuiteConfig()})
    """Suites by registered name."""
    seeds: SplitSeeds = SplitSeeds()
    max_steps: int = 30
    """Episode step budget for the expert."""
    keep_failed: bool = False
    """Keep episodes the expert failed (they are never used as references)."""


@dataclass(frozen=True)
class ValidateDatasetConfig:
    """`validate_dataset`: Great Expectations suite over steps and episodes."""

    input_dir: str = "data/trajectories"
    out_dir: str = "reports/validation"
    """Receives `result.json` and Data Docs under `docs/`."""
    min_steps: int = 1
    max_steps: int = 64
    """Sane episode length bounds (inclusive)."""
    max_instruction_chars: int = 4000
    max_observation_chars: int = 20000
    splits: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Params:
    forecast: ForecastConfig = ForecastConfig()
    build_dataset: BuildDatasetConfig = BuildDatasetConfig()
    validate_dataset: ValidateDatasetConfig = ValidateDatasetConfig()


# ------------------------------------------------------------------ loading


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {
            _convert(args[0], k, where): _convert(args[1], {} if v is None else v, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if isinstance(value, bool) and tp is not bool or not isinstance(value, tp):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{where}: unsupported config type {tp!r}")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"{where}.{key}: unknown field (known: {', '.join(sorted(names))})")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def from_dict(cls: type, data: dict[str, Any] | None, source: str = "params") -> Any:
    """Build dataclass `cls` from plain data, strictly; errors name `source` and the key path."""
    try:
        return _build(cls, data or {}, "")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {str(exc).lstrip('.')}") from None


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """Read params.yaml into `Params`, checking every key and type."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of stage sections")
    params = from_dict(Params, data, str(path))
    _check(params, str(path))
    return params


def _check(params: Params, source: str) -> None:
    ranges = params.build_dataset.seeds.items()
    for name, r in ranges:
        if r.stop < r.start:
            raise ConfigError(f"{source}: build_dataset.seeds.{name}: stop < start")
    for i, (a, ra) in enumerate(ranges):
        for b, rb in ranges[i + 1:]:
            empty = ra.stop <= ra.start or rb.stop <= rb.start
            if not empty and ra.start < rb.stop and rb.start < ra.stop:
                raise ConfigError(f"{source}: build_dataset.seeds: {a} and {b} overlap")
    if params.forecast.horizon < 1:
        raise ConfigError(f"{source}: forecast.horizon: must be >= 1")
    if params.forecast.history < 0:
        raise ConfigError(f"{source}: forecast.history: must be >= 0")
