"""AndroidControl (google-research/android_control) -> our episodes.

Layout read (the published release): GZIP TFRecord files ``android_control-*``
of `tf.train.Example`s with ``episode_id`` (int), ``goal`` (str), ``screenshots``
(PNG bytes, one per observation), ``screenshot_widths`` / ``screenshot_heights``,
``accessibility_trees``, ``actions`` (JSON strings, ``len(screenshots) - 1`` of
them) and ``step_instructions`` (one per action); optionally ``splits.json``
beside them (``{"train": [ids], "validation": [ids], "test": [ids]}``), whose
split then wins (``validation`` -> ``val``).

| AndroidControl action         | ours                                               |
|-------------------------------|----------------------------------------------------|
| click {x, y}                  | click(x, y, target=step instruction)               |
| long_press {x, y}             | click(x, y, target=step instruction) (1)           |
| type {x, y, text}             | type(text, target=step instruction)                |
| input_text {text}             | type(text)                                         |
| scroll {direction}            | scroll(direction)                                  |
| open_app {app_name}           | tool(name="open_app", args={"app_name": ...}) (2)  |
| navigate_back / navigate_home | press(key="back") / press(key="home") (3)          |
| wait                          | tool(name="wait", args={})                         |
| (episode end)                 | done(), on the last screenshot                     |

(1) No long press in the language; the source action stays in the step's
`executed`. (2) Launching an app is an API call, not a gesture or a key, so it is
not disguised as `press`/`type`. (3) `press` takes any key name.

Pixels become grid units with each screenshot's own width and height. The
release has no target boxes (only the accessibility forest, an android_env proto
this importer does not decode), so clicks carry a point, not a `target_box`;
grounding is then scored with the AndroidControl distance convention
(`conventions.click_matches`). Accessibility trees are counted in `meta`, not read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import SCROLL_DIRECTIONS, Action, Click, Done, Press, Scroll, Tool, Type
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import get, number, text
from tracer1.data.importers.grid import Size, point_to_grid
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import find_files, relative
from tracer1.data.importers.tfrecord import TFRecordError, decode_example, iter_records

SPLITS_FILE = "splits.json"
ActionFn = Callable[[dict[str, Any], Size, str | None, str], Action]
_ACTIONS: dict[str, ActionFn] = {}


def _maps(*verbs: str) -> Callable[[ActionFn], ActionFn]:
    def deco(fn: ActionFn) -> ActionFn:
        _ACTIONS.update(dict.fromkeys(verbs, fn))
        return fn

    return deco


def _point(raw: dict[str, Any], size: Size, where: str) -> tuple[int, int]:
    x = number(get(raw, "x", (int, float), where=where), f"{where}.x")
    y = number(get(raw, "y", (int, float), where=where), f"{where}.y")
    return point_to_grid(x, y, size, where)


@_maps("click", "long_press")
def _click(raw, size, instruction, where) -> Action:
    x, y = _point(raw, size, where)
    return Click(x, y, target=instruction)


@_maps("type")
def _type_at(raw, size, instruction, where) -> Action:
    _point(raw, size, where)  # checked: a tap outside the screen is a broken record
    return Type(text(get(raw, "text", str, where=where), f"{where}.text"), target=instruction)


@_maps("input_text")
def _input_text(raw, size, instruction, where) -> Action:
    return Type(text(get(raw, "text", str, where=where), f"{where}.text"))


@_maps("scroll")
def _scroll(raw, size, instruction, where) -> Action:
    direction = get(raw, "direction", str, where=where)
    if direction not in SCROLL_DIRECTIONS:
        raise FieldError(f"{where}.direction", f"expected one of {', '.join(SCROLL_DIRECTIONS)},"
                                               f" got {direction!r}")
    return Scroll(direction)


@_maps("open_app")
def _open_app(raw, size, instruction, where) -> Action:
    app = text(get(raw, "app_name", str, where=where), f"{where}.app_name")
    return Tool.of("open_app", {"app_name": app})


@_maps("navigate_back")
def _back(raw, size, instruction, where) -> Action:
    return Press("back")


@_maps("navigate_home")
def _home(raw, size, instruction, where) -> Action:
    return Press("home")


@_maps("wait")
def _wait(raw, size, instruction, where) -> Action:
    return Tool.of("wait")


def map_action(raw: dict[str, Any], size: Size, instruction: str | None, where: str) -> Action:
    """One AndroidControl JSON action -> ours (see the table above).

    >>> map_action({"action_type": "navigate_back"}, (1080, 2400), None, "actions[0]")
    Press(key='back')
    >>> map_action({"action_type": "click", "x": 540, "y": 1200}, (1080, 2400), "tap OK", "a")
    Click(x=500, y=500, target='tap OK')
    """
    verb = get(raw, "action_type", str, where=where)
    fn = _ACTIONS.get(verb)
    if fn is None:
        raise FieldError(f"{where}.action_type", f"unknown action type {verb!r} (known: "
                                                 f"{', '.join(sorted(_ACTIONS))})")
    return fn(raw, size, instruction, where)


def _strings(feats: dict[str, Any], name: str) -> list[str]:
    values = feats.get(name)
    if values is None:
        raise FieldError(name, "missing required feature")
    try:
        return [v.decode("utf-8") for v in values]
    except (AttributeError, UnicodeDecodeError):
        raise FieldError(name, "expected a list of UTF-8 byte strings") from None


def _ints(feats: dict[str, Any], name: str) -> list[int]:
    values = feats.get(name)
    if values is None or not all(isinstance(v, int) for v in values):
        raise FieldError(name, "missing required int64 feature")
    return list(values)


@register_importer("androidcontrol")
class AndroidControlImporter:
    """GZIP TFRecords of AndroidControl episodes (see the module docstring)."""

    name = "androidcontrol"

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        splits = self._splits(root)
        if isinstance(splits, RecordError):
            yield splits
            splits = {}
        files = [p for p in find_files(root, "android_control*", "*.tfrecord", "*.tfrecord.gz")
                 if p.name != SPLITS_FILE]
        for path in files:
            name = relative(root, path)
            index = 0
            try:
                for index, payload in enumerate(iter_records(path)):
                    try:
                        feats = decode_example(payload)
                    except (ValueError, UnicodeDecodeError) as exc:
                        yield RecordError(name, index, "<example>",
                                          f"not a tf.train.Example: {exc}")
                        continue
                    ids = feats.get("episode_id") or [None]
                    yield Record(name, str(index), {"features": feats,
                                                    "split": splits.get(ids[0])})
            except TFRecordError as exc:
                # The framing is lost: the rest of this file cannot be read record by record.
                yield RecordError(name, exc.record, "<tfrecord>", exc.problem)

    @staticmethod
    def _splits(root: Path) -> dict[int, str] | RecordError:
        path = root / SPLITS_FILE
        if not path.is_file():
            return {}
        try:
            doc = json.loads(path.read_bytes())
            return {int(eid): split for split, ids in doc.items() for eid in ids}
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            return RecordError(SPLITS_FILE, "<file>", "<json>",
                               f"expected {{split: [episode ids]}}: {exc}")

    def convert(self, record: Record, root: Path) -> Draft:
        feats = record.data["features"]
        ids = _ints(feats, "episode_id")
        if len(ids) != 1:
            raise FieldError("episode_id", f"expected one id, got {len(ids)}")
        goal = _strings(feats, "goal")
        if len(goal) != 1:
            raise FieldError("goal", f"expected one goal, got {len(goal)}")
        shots = feats.get("screenshots") or []
        widths, heights = _ints(feats, "screenshot_widths"), _ints(feats, "screenshot_heights")
        actions = _strings(feats, "actions")
        instructions = _strings(feats, "step_instructions")
        if len(shots) != len(actions) + 1:
            raise FieldError("screenshots", f"{len(shots)} screenshots for {len(actions)} "
                                            "actions (expected one more screenshot than actions)")
        if not len(widths) == len(heights) == len(shots):
            raise FieldError("screenshot_widths", f"{len(widths)} widths and {len(heights)} "
                                                  f"heights for {len(shots)} screenshots")
        if len(instructions) != len(actions):
            raise FieldError("step_instructions", f"{len(instructions)} instructions for "
                                                  f"{len(actions)} actions")
        steps = []
        for i, (raw_text, instruction) in enumerate(zip(actions, instructions, strict=True)):
            where = f"actions[{i}]"
            try:
                raw = json.loads(raw_text)
            except json.JSONDecodeError as exc:
                raise FieldError(where, f"invalid JSON: {exc.msg}") from None
            if not isinstance(raw, dict):
                raise FieldError(where, "expected a JSON object")
            action = map_action(raw, (widths[i], heights[i]), instruction or None, where)
            steps.append(DraftStep(action, screenshot=bytes(shots[i]),
                                   executed={"source_action": raw}))
        steps.append(DraftStep(Done(), screenshot=bytes(shots[-1])))
        return Draft(
            source_id=str(ids[0]), family="android", instruction=goal[0], steps=tuple(steps),
            split=record.data.get("split"),
            meta={"step_instructions": instructions,
                  "accessibility_trees": len(feats.get("accessibility_trees") or [])},
        )


__all__ = ["AndroidControlImporter", "map_action"]
