"""Flatten parsed split files into the tables Great Expectations validates.

Four tables, each row carrying the `file` and `line` it came from so any
failing row can be traced back to the JSONL line a person should open:

* ``steps``    one row per step (action verb, click point, target box, sizes);
* ``elements`` one row per GUI element of a step's observation (its box);
* ``episodes`` one row per episode (length, instruction, last verb, seed reuse);
* ``splits``   one row per configured split (whether its file exists, how many episodes).

Derived columns (``position``, ``seed_splits``, ``last_verb``, ``success_ok``) turn
cross-row rules into per-row values so they become ordinary column expectations
with row-level examples in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.actions import Click
from tracer1.envs.base import suite_names, suite_trait
from tracer1.trajectory import Episode

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SplitFile:
    """One configured split as found on disk: its path and its (line, episode) records."""

    split: str
    path: str
    exists: bool
    episodes: tuple[tuple[int, Episode], ...] = ()


@dataclass(frozen=True)
class Column:
    """A column of a validated table: its GE type name and whether nulls are allowed."""

    name: str
    type: str  # as `expect_column_values_to_be_of_type` spells it for pandas
    nullable: bool = False


# Nullable integer columns use pandas' "Int64" dtype; GE compares the dtype's scalar
# type (numpy.int64), so their expected type is still spelled "int64".
STEPS_COLUMNS: tuple[Column, ...] = (
    Column("file", "str"),
    Column("line", "int64"),
    Column("split", "str"),
    Column("episode_id", "str"),
    Column("suite", "str"),
    Column("family", "str"),
    Column("seed", "int64"),
    Column("step", "int64"),
    Column("position", "int64"),
    Column("verb", "str"),
    Column("x", "int64", nullable=True),
    Column("y", "int64", nullable=True),
    Column("box_left", "int64", nullable=True),
    Column("box_top", "int64", nullable=True),
    Column("box_right", "int64", nullable=True),
    Column("box_bottom", "int64", nullable=True),
    Column("obs_chars", "int64"),
    Column("n_elements", "int64"),
    Column("screenshot_ok", "int64"),
)

ELEMENTS_COLUMNS: tuple[Column, ...] = (
    Column("file", "str"),
    Column("line", "int64"),
    Column("split", "str"),
    Column("episode_id", "str"),
    Column("step", "int64"),
    Column("element", "int64"),
    Column("box_left", "int64"),
    Column("box_top", "int64"),
    Column("box_right", "int64"),
    Column("box_bottom", "int64"),
)

EPISODES_COLUMNS: tuple[Column, ...] = (
    Column("file", "str"),
    Column("line", "int64"),
    Column("split", "str"),
    Column("record_split", "str"),
    Column("episode_id", "str"),
    Column("suite", "str"),
    Column("family", "str"),
    Column("seed", "int64"),
    Column("difficulty", "int64"),
    Column("n_steps", "int64"),
    Column("instruction", "str"),
    Column("last_verb", "str"),
    Column("ends_ok", "int64"),
    Column("success_ok", "int64"),
    Column("seed_splits", "int64"),
    Column("instruction_splits", "int64"),
)

SPLITS_COLUMNS: tuple[Column, ...] = (
    Column("file", "str"),
    Column("split", "str"),
    Column("exists", "bool"),
    Column("n_episodes", "int64"),
)

TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "steps": STEPS_COLUMNS,
    "elements": ELEMENTS_COLUMNS,
    "episodes": EPISODES_COLUMNS,
    "splits": SPLITS_COLUMNS,
}

# Columns that identify a row in failure examples, per table.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "steps": ("file", "line", "episode_id", "step"),
    "elements": ("file", "line", "episode_id", "step", "element"),
    "episodes": ("file", "line", "episode_id"),
    "splits": ("file", "split"),
}

_INT_NULLABLE = "Int64"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _step_rows(files: Sequence[SplitFile]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {c.name: [] for c in STEPS_COLUMNS}
    for sf in files:
        for line, ep in sf.episodes:
            for position, step in enumerate(ep.steps):
                action = step.action
                box = getattr(action, "box", None)
                is_click = isinstance(action, Click)
                row = (  # in STEPS_COLUMNS order; zip(strict=True) catches a missing value
                    sf.path, line, sf.split, ep.episode_id, ep.suite, ep.family, ep.seed,
                    step.index, position, action.verb,
                    action.x if is_click else None, action.y if is_click else None,
                    *(box.to_list() if box is not None else (None,) * 4),
                    len(step.observation.text), len(step.observation.elements),
                    int(screenshot_ok(sf.path, step.observation.screenshot)),
                )
                for col, value in zip(cols.values(), row, strict=True):
                    col.append(value)
    return cols


def _element_rows(files: Sequence[SplitFile]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {c.name: [] for c in ELEMENTS_COLUMNS}
    for sf in files:
        for line, ep in sf.episodes:
            for step in ep.steps:
                for index, element in enumerate(step.observation.elements):
                    row = (sf.path, line, sf.split, ep.episode_id, step.index, index,
                           *element.box.to_list())
                    for col, value in zip(cols.values(), row, strict=True):
                        col.append(value)
    return cols


def screenshot_ok(split_path: str, screenshot: str | None) -> bool:
    """No screenshot referenced, or a PNG file inside the trajectory directory.

    The signature is read, not the name trusted: a text file called ``0.png`` would
    reach the VLM's image decoder in the middle of training.
    """
    if screenshot is None:
        return True
    root = Path(split_path).parent.resolve()
    path = (root / screenshot).resolve()
    if not (path.is_relative_to(root) and path.is_file()):
        return False
    try:
        with path.open("rb") as fh:
            return fh.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False


def _ends_ok(ep: Episode) -> bool:
    """The episode ends with one of its suite's terminal verbs (any, where it has none)."""
    if not ep.steps:
        return False
    verbs = suite_trait(ep.suite, "terminal_verbs")
    return verbs is None or ep.steps[-1].action.verb in verbs


def _success_ok(ep: Episode, live: frozenset[str]) -> bool:
    """A live suite's episode claims success only if its last step earned a reward (success
    is "ended with a positive reward", `tracer1.data.build.expert_episode`). Imported
    episodes record no rewards: their success is the dataset's word."""
    if not ep.success or ep.suite not in live:
        return True
    return bool(ep.steps) and ep.steps[-1].reward > 0


def elements_frame(files: Sequence[SplitFile]) -> pd.DataFrame:
    """One row per element of every step's observation, in file order."""
    import pandas as pd

    frame = pd.DataFrame(_element_rows(files), columns=[c.name for c in ELEMENTS_COLUMNS])
    return _set_types(frame, ELEMENTS_COLUMNS)


def steps_frame(files: Sequence[SplitFile]) -> pd.DataFrame:
    """One row per step of every episode, in file order."""
    import pandas as pd

    cols = _step_rows(files)
    frame = pd.DataFrame(cols, columns=[c.name for c in STEPS_COLUMNS])
    return _set_types(frame, STEPS_COLUMNS)


def episodes_frame(files: Sequence[SplitFile]) -> pd.DataFrame:
    """One row per episode; `seed_splits` / `instruction_splits` count the splits its
    (suite, family, seed) / (suite, instruction) occurs in."""
    import pandas as pd

    live = frozenset(suite_names())
    rows = [
        (  # in EPISODES_COLUMNS order
            sf.path, line, sf.split, ep.split, ep.episode_id, ep.suite, ep.family, ep.seed,
            ep.difficulty, len(ep.steps), ep.instruction,
            # "" rather than null: an empty episode must fail "ends in done/answer", and
            # GE's set expectations skip nulls.
            ep.steps[-1].action.verb if ep.steps else "",
            int(_ends_ok(ep)),
            int(_success_ok(ep, live)),
            0,
            0,
        )
        for sf in files
        for line, ep in sf.episodes
    ]
    frame = pd.DataFrame(rows, columns=[c.name for c in EPISODES_COLUMNS])
    if len(frame):
        # A task seed seen in two splits leaks a test task into training.
        group = frame.groupby(["suite", "family", "seed"])["split"]
        frame["seed_splits"] = group.transform("nunique")
        # The same question under another seed leaks just as much — where an instruction
        # is the task (question pools); a GUI page repeats instructions over layouts.
        by_text = frame.groupby(["suite", "instruction"])["split"]
        unique = frame["suite"].map(lambda name: bool(suite_trait(name, "unique_instructions")))
        frame["instruction_splits"] = by_text.transform("nunique").where(unique, 1)
    return _set_types(frame, EPISODES_COLUMNS)


def splits_frame(files: Sequence[SplitFile]) -> pd.DataFrame:
    """One row per configured split, present or not (a missing file counts as empty)."""
    import pandas as pd

    rows = [(sf.path, sf.split, sf.exists, len(sf.episodes)) for sf in files]
    frame = pd.DataFrame(rows, columns=[c.name for c in SPLITS_COLUMNS])
    return _set_types(frame, SPLITS_COLUMNS)


def _set_types(frame: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """Give every column a fixed dtype, so an empty table has the same types as a full one."""
    dtypes = {}
    for c in columns:
        if c.type == "int64":
            dtypes[c.name] = _INT_NULLABLE if c.nullable else "int64"
        elif c.type == "bool":
            dtypes[c.name] = "bool"
        else:
            dtypes[c.name] = "str"
    return frame.astype(dtypes)


def build_frames(files: Sequence[SplitFile]) -> dict[str, pd.DataFrame]:
    """All validated tables by name."""
    return {
        "steps": steps_frame(files),
        "elements": elements_frame(files),
        "episodes": episodes_frame(files),
        "splits": splits_frame(files),
    }

