"""The dataset contract as data: which Great Expectations expectation runs on which table.

Kept free of any GE import so the contract can be read (and unit-tested) without
paying GE's multi-second import; `gx_run` turns each `Check` into a real
expectation. One `Check` = one row in `result.json` and one line in Data Docs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracer1.actions import ACTION_TYPES, GRID
from tracer1.config import ValidateDatasetConfig
from tracer1.data.validation.frames import TABLE_COLUMNS


@dataclass(frozen=True)
class Check:
    """One expectation on one table.

    `type` is GE's snake_case expectation name and `kwargs` its arguments, exactly
    as they appear in GE's own results and Data Docs; `why` says what a failure means.
    """

    table: str
    type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""

    @property
    def label(self) -> str:
        """``expect_column_values_to_be_between(steps.x, 0..1000)``: the type and its gist."""
        return f"{self.type}({describe_kwargs(self.table, self.kwargs)})"


def describe_kwargs(table: str, kwargs: Mapping[str, Any]) -> str:
    """A short human form of an expectation's arguments, prefixed by the table name."""
    parts: list[str] = []
    if "column" in kwargs:
        parts.append(f"{table}.{kwargs['column']}")
    elif "column_A" in kwargs:
        parts.append(f"{table}.{kwargs['column_A']}, {table}.{kwargs['column_B']}")
    elif "column_list" in kwargs:
        parts.append(f"{table}.({', '.join(kwargs['column_list'])})")
    else:
        parts.append(table)
    if "min_value" in kwargs or "max_value" in kwargs:
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        parts.append(f"{'' if lo is None else lo}..{'' if hi is None else hi}")
    if "value_set" in kwargs:
        parts.append("{" + ", ".join(map(str, kwargs["value_set"])) + "}")
    if "type_" in kwargs:
        parts.append(str(kwargs["type_"]))
    if "regex" in kwargs:
        parts.append(f"/{kwargs['regex']}/")
    if kwargs.get("or_equal"):
        parts.append(">=")
    return ", ".join(parts)


def schema_checks(table: str) -> Iterator[Check]:
    """The table has exactly its columns; each has its type and is non-null unless nullable."""
    columns = TABLE_COLUMNS[table]
    # One set expectation rather than one `expect_column_to_exist` per column: the same
    # guarantee (plus: no unexpected column) at a fraction of GE's per-expectation cost.
    yield Check(
        table, "expect_table_columns_to_match_set",
        {"column_set": [c.name for c in columns], "exact_match": True}, "frame contract",
    )
    for col in columns:
        yield Check(
            table, "expect_column_values_to_be_of_type", {"column": col.name, "type_": col.type},
            "frame contract",
        )
        if not col.nullable:
            yield Check(
                table, "expect_column_values_to_not_be_null", {"column": col.name},
                "required field",
            )


def _between(table: str, column: str, lo: int | None, hi: int | None, why: str) -> Check:
    kwargs: dict[str, Any] = {"column": column}
    if lo is not None:
        kwargs["min_value"] = lo
    if hi is not None:
        kwargs["max_value"] = hi
    return Check(table, "expect_column_values_to_be_between", kwargs, why)


def _not_less(table: str, column_a: str, column_b: str, why: str) -> Check:
    kwargs = {
        "column_A": column_a,
        "column_B": column_b,
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",  # only annotated actions carry a box
    }
    return Check(table, "expect_column_pair_values_a_to_be_greater_than_b", kwargs, why)


# A control character (NUL, escape, ...) in an instruction is corruption, never text a
# person typed; tab, newline and carriage return are text.
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
NON_BLANK = r"\S"  # GE's regex expectations search: any non-space character anywhere


def known_suites() -> list[str]:
    """Every suite an episode may belong to: the registered environment suites and the
    import formats (an imported episode's suite is its format's name)."""
    from tracer1.data.importers.registry import importer_names
    from tracer1.envs import suite_names

    return sorted({*suite_names(), *importer_names()})


def _box_checks(table: str, prefix: str) -> Iterator[Check]:
    """A box on the 0-1000 grid, edges in order."""
    for edge in ("box_left", "box_top", "box_right", "box_bottom"):
        yield _between(table, edge, 0, GRID, f"{prefix} box outside the 0-1000 grid")
    yield _not_less(table, "box_right", "box_left", f"{prefix} box with right < left")
    yield _not_less(table, "box_bottom", "box_top", f"{prefix} box with bottom < top")


def step_checks(cfg: ValidateDatasetConfig) -> Iterator[Check]:
    """Rules on single steps: verbs, coordinates, boxes, ordering, sizes."""
    yield Check(
        "steps", "expect_column_values_to_be_in_set",
        {"column": "verb", "value_set": sorted(ACTION_TYPES)}, "unknown action verb",
    )
    for axis in ("x", "y"):
        yield _between("steps", axis, 0, GRID, "click outside the 0-1000 grid")
    yield from _box_checks("steps", "target")
    yield Check(
        "steps", "expect_column_pair_values_to_be_equal",
        {"column_A": "step", "column_B": "position"},
        "step indices must run 0, 1, 2, ... within each episode",
    )
    yield Check(
        "steps", "expect_compound_columns_to_be_unique",
        {"column_list": ["episode_id", "step"]}, "the same step recorded twice",
    )
    yield _between("steps", "obs_chars", 0, cfg.max_observation_chars, "observation text too long")
    yield _between("steps", "n_elements", 0, cfg.max_elements, "too many elements in one "
                   "observation")
    yield Check(
        "steps", "expect_column_values_to_be_in_set",
        {"column": "screenshot_ok", "value_set": [1]},
        "a referenced screenshot is missing, not a PNG, or outside the trajectory directory",
    )


def element_checks() -> Iterator[Check]:
    """Rules on the GUI elements a step's observation shows."""
    yield from _box_checks("elements", "element")


def episode_checks(cfg: ValidateDatasetConfig) -> Iterator[Check]:
    """Rules on whole episodes and across episodes and splits."""
    yield Check(
        "episodes", "expect_column_values_to_be_unique", {"column": "episode_id"},
        "episode ids must be unique across all split files",
    )
    yield Check(
        "episodes", "expect_column_values_to_match_regex",
        {"column": "episode_id", "regex": NON_BLANK}, "episode id empty or blank",
    )
    yield Check(
        "episodes", "expect_column_values_to_be_in_set",
        {"column": "suite", "value_set": known_suites()},
        "unknown suite (neither an environment suite nor an import format)",
    )
    yield _between("episodes", "seed", 0, None, "task seeds are non-negative")
    yield _between("episodes", "difficulty", 1, None, "difficulty levels start at 1")
    yield Check(
        "episodes", "expect_column_value_lengths_to_be_between",
        {"column": "instruction", "min_value": 1, "max_value": cfg.max_instruction_chars},
        "instruction empty or too long",
    )
    yield Check(
        "episodes", "expect_column_values_to_match_regex",
        {"column": "instruction", "regex": NON_BLANK}, "instruction blank (only whitespace)",
    )
    yield Check(
        "episodes", "expect_column_values_to_not_match_regex",
        {"column": "instruction", "regex": CONTROL_CHARS},
        "instruction holds a control character (NUL, escape, ...)",
    )
    yield Check(
        "episodes", "expect_column_values_to_be_in_set",
        {"column": "ends_ok", "value_set": [1]},
        "an episode must end with its suite's terminal action (tool use: done() or answer())",
    )
    yield Check(
        "episodes", "expect_column_values_to_be_in_set",
        {"column": "success_ok", "value_set": [1]},
        "success claimed but the last step earned no reward",
    )
    yield _between("episodes", "n_steps", cfg.min_episode_steps, cfg.max_episode_steps,
                   "episode length")
    yield Check(
        "episodes", "expect_column_values_to_be_in_set",
        {"column": "seed_splits", "value_set": [1]},
        "a (suite, family, seed) task occurs in more than one split: test data leaks",
    )
    yield Check(
        "episodes", "expect_column_values_to_be_in_set",
        {"column": "instruction_splits", "value_set": [1]},
        "the same instruction occurs in more than one split: test data leaks",
    )
    yield Check(
        "episodes", "expect_column_pair_values_to_be_equal",
        {"column_A": "record_split", "column_B": "split"},
        "the record's split field disagrees with the file it is in",
    )


def split_checks() -> Iterator[Check]:
    """Every configured split has a file with at least one episode."""
    yield _between("splits", "n_episodes", 1, None, "split file missing or empty")


def all_checks(cfg: ValidateDatasetConfig) -> tuple[Check, ...]:
    """The whole contract, in the order it is reported."""
    return (
        *schema_checks("splits"),
        *split_checks(),
        *schema_checks("episodes"),
        *episode_checks(cfg),
        *schema_checks("steps"),
        *step_checks(cfg),
        *schema_checks("elements"),
        *element_checks(),
    )
