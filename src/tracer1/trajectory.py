"""The trajectory schema: tasks, observations, steps and episodes, and their JSON form.

One episode is one JSON object per line of a JSONL file. Actions are stored in
the canonical text form of `tracer1.actions`; a reference action's target box
(ground truth, not part of the text form) is stored beside it as `target_box`.

`episode_from_json` is strict: a malformed record raises `SchemaError` naming
the field path (``steps[3].action: unknown verb 'clik'``); the reader in
`tracer1.data.jsonl` adds the file and line. Strict means: no field the schema does
not name, and no value that only Python can hold — a non-finite number (JSON has no
NaN), an integer outside 64 bits, a lone surrogate, nesting deeper than `MAX_DEPTH` —
since every consumer after this one (pandas, pyarrow, the tokenizer) would choke on it
or, worse, carry it on silently.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from tracer1.actions import Action, Box, Click, format_action, parse_action
from tracer1.actions import ParseError as _ActionParseError

SCHEMA_VERSION = 1
MAX_DEPTH = 32
"""Deepest nesting of a record (an episode is 5 levels deep; `meta` / `executed` free-form)."""
INT64 = (-(2**63), 2**63 - 1)

EPISODE_FIELDS = frozenset({"schema_version", "episode_id", "suite", "family", "seed", "split",
                            "difficulty", "instruction", "success", "meta", "steps"})
STEP_FIELDS = frozenset({"index", "observation", "action", "target_box", "executed", "reward"})
OBSERVATION_FIELDS = frozenset({"text", "elements", "screenshot"})
ELEMENT_FIELDS = frozenset({"ref", "tag", "text", "box"})


class SchemaError(ValueError):
    """A record does not follow the trajectory schema; `field` is the offending path."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class LongInteger:
    """Stands in for an integer literal too long to convert (a JSON reader's `parse_int`
    hook returns it), so `check_values` can name the field instead of Python raising
    "Exceeds the limit (4300 digits)" with no field at all."""

    digits: int


@dataclass(frozen=True)
class Task:
    """One task instance of a suite. `spec` holds suite-private data (answers, plans)."""

    task_id: str
    suite: str
    family: str
    seed: int
    instruction: str
    difficulty: int = 1
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Element:
    """A GUI element seen by the planner; `box` on the 0-1000 grid."""

    ref: str
    tag: str
    text: str
    box: Box


@dataclass(frozen=True)
class Observation:
    """What the planner sees after reset/step.

    `text` is the suite's textual state (tool results so far, page text);
    `elements` the GUI elements (empty for tool suites); `screenshot` a path
    relative to the trajectory directory, when the suite renders one.
    """

    text: str = ""
    elements: tuple[Element, ...] = ()
    screenshot: str | None = None


@dataclass(frozen=True)
class Step:
    """One expert (or planner) step: the observation acted on, the action, what executed."""

    index: int
    observation: Observation
    action: Action
    executed: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    reward: float = 0.0


@dataclass(frozen=True)
class Episode:
    episode_id: str
    suite: str
    family: str
    seed: int
    split: str
    instruction: str
    steps: tuple[Step, ...]
    success: bool
    difficulty: int = 1
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


# --------------------------------------------------------------------- JSON form


def _box_to_json(box: Box | None) -> list[int] | None:
    return None if box is None else box.to_list()


def action_to_json(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"action": format_action(action)}
    box = getattr(action, "box", None)
    if box is not None:
        out["target_box"] = box.to_list()
    return out


def observation_to_json(obs: Observation) -> dict[str, Any]:
    return {
        "text": obs.text,
        "elements": [
            {"ref": e.ref, "tag": e.tag, "text": e.text, "box": e.box.to_list()}
            for e in obs.elements
        ],
        "screenshot": obs.screenshot,
    }


def step_to_json(step: Step) -> dict[str, Any]:
    return {
        "index": step.index,
        "observation": observation_to_json(step.observation),
        **action_to_json(step.action),
        "executed": step.executed,
        "reward": step.reward,
    }


def episode_to_json(ep: Episode) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "episode_id": ep.episode_id,
        "suite": ep.suite,
        "family": ep.family,
        "seed": ep.seed,
        "split": ep.split,
        "difficulty": ep.difficulty,
        "instruction": ep.instruction,
        "success": ep.success,
        "meta": ep.meta,
        "steps": [step_to_json(s) for s in ep.steps],
    }


def _problem(value: Any) -> str | None:
    """What makes one scalar unrepresentable downstream, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"not a finite number ({value}); JSON has no NaN or Infinity"
    if isinstance(value, LongInteger):
        return f"an integer of {value.digits} digits does not fit in 64 bits"
    if isinstance(value, int) and not isinstance(value, bool) and not (
            INT64[0] <= value <= INT64[1]):
        return f"{value} does not fit in 64 bits"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (f"not valid Unicode: lone surrogate U+{ord(value[exc.start]):04X} at "
                    f"character {exc.start + 1}")
    return None


def check_values(obj: Any, path: str = "") -> None:
    """Refuse a value no consumer can represent; raises SchemaError naming its path.

    Iterative (an explicit stack), so a deep record cannot exhaust Python's recursion.
    """
    stack = [(obj, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SchemaError(where or "<record>", f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{where}.{key}" if where else str(key)
                if (problem := _problem(key)) is not None:
                    raise SchemaError(where or "<record>", f"key {key!r}: {problem}")
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif (problem := _problem(value)) is not None:
            raise SchemaError(where or "<record>", problem)


def _known_only(obj: dict[str, Any], known: frozenset[str], path: str) -> None:
    """A field the schema does not name is a typo or a foreign format, never ignored."""
    unknown = sorted(set(obj) - known)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise SchemaError(where, f"unknown field (known: {', '.join(sorted(known))})")


def get_field(obj: Any, key: str, kind: type | tuple[type, ...], path: str, optional: bool = False):
    """`obj[key]` checked to be a `kind` (bool is no int); None when `optional` and absent."""
    if not isinstance(obj, dict):
        raise SchemaError(path or "<record>", f"expected an object, got {type(obj).__name__}")
    where = f"{path}.{key}" if path else key
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise SchemaError(where, "missing required field")
    value = obj[key]
    # bool is an int subclass: refuse it where an int is meant.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise SchemaError(where, f"expected {_kind_name(kind)}, got bool")
    if not isinstance(value, kind):
        raise SchemaError(where, f"expected {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array",
             dict: "object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def box_from_json(value: Any, path: str) -> Box:
    ok = (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        raise SchemaError(path, f"expected [left, top, right, bottom] integers, got {value!r}")
    return Box.from_list(value)


def action_from_json(obj: dict[str, Any], path: str) -> Action:
    text = get_field(obj, "action", str, path)
    parsed = parse_action(text)
    if isinstance(parsed, _ActionParseError):
        raise SchemaError(f"{path}.action" if path else "action", parsed.message)
    raw_box = obj.get("target_box")
    if raw_box is not None:
        where = f"{path}.target_box" if path else "target_box"
        box = box_from_json(raw_box, where)
        if not hasattr(parsed, "box"):
            raise SchemaError(where, f"a {parsed.verb}() action cannot carry a target box")
        parsed = dataclasses.replace(parsed, box=box)
    return parsed


def observation_from_json(obj: Any, path: str, known_only: bool = False) -> Observation:
    """An Observation from its JSON form; `known_only` refuses fields the schema does not
    name (episode files; a serving request may carry more)."""
    text = get_field(obj, "text", str, path)
    raw_elements = get_field(obj, "elements", list, path)
    if known_only:
        _known_only(obj, OBSERVATION_FIELDS, path)
    elements = []
    for i, raw in enumerate(raw_elements):
        where = f"{path}.elements[{i}]"
        if known_only and isinstance(raw, dict):
            _known_only(raw, ELEMENT_FIELDS, where)
        elements.append(
            Element(
                ref=get_field(raw, "ref", str, where),
                tag=get_field(raw, "tag", str, where),
                text=get_field(raw, "text", str, where),
                box=box_from_json(get_field(raw, "box", list, where), f"{where}.box"),
            )
        )
    screenshot = get_field(obj, "screenshot", str, path, optional=True)
    return Observation(text=text, elements=tuple(elements), screenshot=screenshot)


def step_from_json(obj: Any, path: str) -> Step:
    index = get_field(obj, "index", int, path)
    _known_only(obj, STEP_FIELDS, path)
    return Step(
        index=index,
        observation=observation_from_json(get_field(obj, "observation", dict, path),
                                          f"{path}.observation", known_only=True),
        action=action_from_json(obj, path),
        executed=get_field(obj, "executed", dict, path, optional=True) or {},
        reward=float(get_field(obj, "reward", (int, float), path, optional=True) or 0.0),
    )


def episode_from_json(obj: Any) -> Episode:
    """Strictly decode one episode record; raises SchemaError naming the field."""
    check_values(obj)
    version = get_field(obj, "schema_version", int, "")
    if version != SCHEMA_VERSION:
        raise SchemaError("schema_version", f"unsupported version {version}")
    _known_only(obj, EPISODE_FIELDS, "")
    raw_steps = get_field(obj, "steps", list, "")
    return Episode(
        episode_id=get_field(obj, "episode_id", str, ""),
        suite=get_field(obj, "suite", str, ""),
        family=get_field(obj, "family", str, ""),
        seed=get_field(obj, "seed", int, ""),
        split=get_field(obj, "split", str, ""),
        difficulty=get_field(obj, "difficulty", int, "", optional=True) or 1,
        instruction=get_field(obj, "instruction", str, ""),
        success=get_field(obj, "success", bool, ""),
        meta=get_field(obj, "meta", dict, "", optional=True) or {},
        steps=tuple(step_from_json(s, f"steps[{i}]") for i, s in enumerate(raw_steps)),
    )


def reference_actions(episode: Episode) -> list[Action]:
    """The expert's actions in order (with their target boxes)."""
    return [s.action for s in episode.steps]


__all__ = [
    "Click",
    "Element",
    "Episode",
    "Observation",
    "LongInteger",
    "SchemaError",
    "Step",
    "Task",
    "action_from_json",
    "check_values",
    "episode_from_json",
    "get_field",
    "episode_to_json",
    "reference_actions",
]
