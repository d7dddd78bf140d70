"""Typed records one stage writes and another reads (the expert episodes are `trajectory`).

`FeedbackRecord` is one state `collect_feedback` visited, as `stage2_rft` reads it: one JSON
object per line of ``{feedback_dir}/feedback.jsonl``, its keys `FEEDBACK_KEYS`:

* `suite`, `family`, `seed`, `difficulty`, `task_id` - the task;
* `step` - index of the state in the episode (invalid forecasts count: they use
  a step of the budget without changing the state);
* `instruction`, `observation` (`trajectory.observation_to_json`; for a planner that
  sees screenshots, `screenshot` names the live screen it saw, saved under
  ``{feedback_dir}/screenshots/`` and relative to that directory);
* `history` - canonical text of *every* action executed before this state, so
  `envs.base.restore(suite, task, parsed history)` rebuilds the state exactly;
* `forecast` - the raw planner text;
* `executed` - environment info of the planner's executed first action, or null
  when the forecast had no parsable action;
* `reference_action` - the expert's action from this state (canonical text);
* `reference_box` - its target box `[l, t, r, b]` on the 0-1000 grid, or null;
* `reference_executed` - environment info of `reference_action` run from this state;
* `reference_answer` - the task's reference answer (`task.spec["answer"]`), or null.

`FeedbackRecord.from_json` is the one check of that contract; `read_feedback` reports a
problem as ``file:line: field: problem`` (`data.jsonl.DataFileError`).

The eval report `evaluate` writes and `promote` reads is versioned here too
(`REPORT_SCHEMA_VERSION`), with the checks its writer (`evaluation.report`) and its reader
(`registry.gate`) share: `scored_problems`, `outcome_problems` and the value tests under them.

>>> from tracer1.actions import Answer
>>> rec = FeedbackRecord("tooluse", "calc", 3, 1, "tooluse/calc/d1/s3", 0, "2+2?",
...                      Observation(), (), "<plan>...", None, Answer("4"), None, "4")
>>> FeedbackRecord.from_json(rec.to_json()) == rec
True
>>> FeedbackRecord.from_json({**rec.to_json(), "seed": "3"})
Traceback (most recent call last):
...
tracer1.trajectory.SchemaError: seed: expected integer, got str
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

from tracer1.actions import Action, format_action, parse_action
from tracer1.actions import ParseError as _ActionParseError
from tracer1.trajectory import (
    Observation,
    SchemaError,
    box_from_json,
    get_field,
    observation_from_json,
    observation_to_json,
)

REPORT_SCHEMA_VERSION = 2
"""The eval report's schema (2: Wilson `ci95`, `paired` differences); see `evaluation.report`."""

FEEDBACK_KEYS: tuple[str, ...] = (
    "suite", "family", "seed", "difficulty", "task_id", "step", "instruction", "observation",
    "history", "forecast", "executed", "reference_action", "reference_box",
    "reference_executed", "reference_answer",
)


@dataclass(frozen=True)
class FeedbackRecord:
    """One visited state with the expert's grounded reference (see the module docstring).

    `reference_action` carries its target box (`reference_box` in the JSON form).
    """

    suite: str
    family: str
    seed: int
    difficulty: int
    task_id: str
    step: int
    instruction: str
    observation: Observation
    history: tuple[Action, ...]
    forecast: str
    executed: Any
    reference_action: Action
    reference_executed: Any
    reference_answer: Any

    def to_json(self) -> dict[str, Any]:
        """The JSON object of one line, keys in `FEEDBACK_KEYS` order."""
        box = getattr(self.reference_action, "box", None)
        return {
            "suite": self.suite,
            "family": self.family,
            "seed": self.seed,
            "difficulty": self.difficulty,
            "task_id": self.task_id,
            "step": self.step,
            "instruction": self.instruction,
            "observation": observation_to_json(self.observation),
            "history": [format_action(a) for a in self.history],
            "forecast": self.forecast,
            "executed": self.executed,
            "reference_action": format_action(self.reference_action),
            "reference_box": None if box is None else box.to_list(),
            "reference_executed": self.reference_executed,
            "reference_answer": self.reference_answer,
        }

    @classmethod
    def from_json(cls, obj: Any) -> FeedbackRecord:
        """Strictly decode one record; raises SchemaError naming the field.

        `task_id` and `step` may be absent (older files): "" and the history's length.
        """
        history = get_field(obj, "history", list, "")
        past = tuple(_action(text, f"history[{i}]") for i, text in enumerate(history))
        reference = _action(get_field(obj, "reference_action", str, ""), "reference_action")
        box = obj.get("reference_box")
        if box is not None and hasattr(reference, "box"):
            reference = dataclasses.replace(reference, box=box_from_json(box, "reference_box"))
        return cls(
            suite=get_field(obj, "suite", str, ""),
            family=get_field(obj, "family", str, ""),
            seed=get_field(obj, "seed", int, ""),
            difficulty=get_field(obj, "difficulty", int, ""),
            task_id=get_field(obj, "task_id", str, "", optional=True) or "",
            step=_optional_int(obj, "step", len(past)),
            instruction=get_field(obj, "instruction", str, ""),
            observation=observation_from_json(get_field(obj, "observation", dict, ""),
                                              "observation"),
            history=past,
            forecast=get_field(obj, "forecast", str, "", optional=True) or "",
            executed=obj.get("executed"),
            reference_action=reference,
            reference_executed=obj.get("reference_executed"),
            reference_answer=obj.get("reference_answer"),
        )


def _action(text: Any, where: str) -> Action:
    if not isinstance(text, str):
        raise SchemaError(where, f"expected an action string, got {type(text).__name__}")
    action = parse_action(text)
    if isinstance(action, _ActionParseError):  # recorded data, not model output
        raise SchemaError(where, action.message)
    return action


def _optional_int(obj: dict[str, Any], key: str, default: int) -> int:
    value = get_field(obj, key, int, "", optional=True)
    return default if value is None else value


def is_number(value: Any) -> bool:
    """A finite int or float; a bool is none (a metric of `True` is a bug upstream)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_rate(value: Any) -> bool:
    """A number in [0, 1].

    >>> is_rate(0.5), is_rate(True), is_rate(float("nan")), is_rate(1.5)
    (True, False, False, False)
    """
    return is_number(value) and 0 <= value <= 1


def is_count(value: Any) -> bool:
    """An int >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# The report rounds every float to 6 digits (`evaluation.report.DIGITS`): a success rate
# may differ from the mean of its outcomes by half a unit there, never more.
ROUNDING = 1e-6
_EPS = 1e-9


def is_interval(ci: Any) -> bool:
    """``[lo, hi]`` with ``0 <= lo <= hi <= 1``."""
    return (isinstance(ci, list | tuple) and len(ci) == 2 and all(map(is_rate, ci))
            and ci[0] <= ci[1])


def scored_problems(at: str, section: Any) -> list[str]:
    """What is wrong with the scored part of an eval-report section at `at` (a suite, a
    family, the long-horizon slice): `success_rate` a rate, `episodes` a count and
    `ci95`, when present, an interval. Empty when well-formed.

    >>> scored_problems("s", {"success_rate": 0.5, "episodes": 4, "ci95": [0.2, 0.8]})
    []
    >>> for problem in scored_problems("s", {"success_rate": 7.0, "episodes": -3}):
    ...     print(problem)
    s.episodes: expected a count (integer >= 0), got -3
    s.success_rate: expected a rate in [0, 1], got 7.0
    """
    if not isinstance(section, dict):
        return [f"{at}: expected an object"]
    episodes, rate, ci = (section.get(k) for k in ("episodes", "success_rate", "ci95"))
    problems = []
    if not is_count(episodes):
        problems.append(f"{at}.episodes: expected a count (integer >= 0), got {episodes!r}")
    if not is_rate(rate):
        problems.append(f"{at}.success_rate: expected a rate in [0, 1], got {rate!r}")
    if ci is not None and not is_interval(ci):
        problems.append(f"{at}.ci95: expected [lo, hi] with 0 <= lo <= hi <= 1, got {ci!r}")
    return problems


def outcome_problems(at: str, suite: Any) -> list[str]:
    """`scored_problems` of a suite plus its outcomes: `per_task` one 0|1 per episode and
    `success_rate` their mean. The one check of the numbers the writer (`evaluation.report`)
    and the gate (`registry.gate`) both rely on: a report whose numbers disagree was not
    produced by `evaluate` (hand-edited, truncated, or a broken scorer).

    >>> outcome_problems("s", {"success_rate": 0.9, "episodes": 2, "per_task": {"a": 1, "b": 0}})
    ['s.success_rate: 0.9 is not the mean of its 2 per-task outcomes (0.500000)']
    """
    problems = scored_problems(at, suite)
    if not isinstance(suite, dict):
        return problems
    episodes, per_task, rate = (suite.get(k) for k in ("episodes", "per_task", "success_rate"))
    if not isinstance(per_task, dict) or not all(
            is_number(v) and v in (0, 1) for v in per_task.values()):
        return [*problems, f"{at}.per_task: expected an object of task id -> 0|1"]
    if is_count(episodes) and episodes != len(per_task):
        problems.append(f"{at}.episodes: {episodes} episodes but {len(per_task)} per-task "
                        f"outcomes in {at}.per_task (expected one per episode)")
    if is_rate(rate):
        mean = sum(per_task.values()) / len(per_task) if per_task else 0.0
        if abs(rate - mean) > ROUNDING + _EPS:
            problems.append(f"{at}.success_rate: {rate!r} is not the mean of its "
                            f"{len(per_task)} per-task outcomes ({mean:.6f})")
    return problems


def read_feedback(path: str | os.PathLike) -> list[FeedbackRecord]:
    """Every record of a feedback JSONL file, in file order; raises DataFileError naming
    ``file:line: field`` at the first malformed one."""
    from tracer1.data.jsonl import decode_record, iter_lines

    return [decode_record(path, number, text, FeedbackRecord.from_json)
            for number, text in iter_lines(path)]


__all__ = [
    "FEEDBACK_KEYS",
    "REPORT_SCHEMA_VERSION",
    "FeedbackRecord",
    "is_count",
    "is_interval",
    "is_number",
    "is_rate",
    "outcome_problems",
    "read_feedback",
    "scored_problems",
]
