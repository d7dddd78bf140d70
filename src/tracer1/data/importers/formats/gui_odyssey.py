"""GUI-Odyssey (OpenGVLab/GUI-Odyssey, 2024; hflqf88888/GUIOdyssey, 2025) -> our episodes.

Layout read (the published ``data/`` folder, both releases): ``annotations/<id>.json``,
one episode each, ids of 16 digits: ``episode_id``, ``device_info`` {``w``, ``h``,
``device_name`` ...}, ``task_info`` {``category``, ``app``, ``meta_task``, ``task``,
``instruction``}, ``step_length`` and ``steps`` [{``step``, ``screenshot`` (a file in
``screenshots/``, ``<id>_<step>.png``; the release's per-part subfolders are to be
flattened first, as its ``preprocessing.py`` does), ``action``, ``info``, ``ps``}].
The 2025 release adds per step ``sam2_bbox`` (the clicked element's box, ``[x1, y1,
x2, y2]``, ``[]`` for other actions), ``low_level_instruction``, ``intention``,
``context`` and ``description``. ``splits/<name>_split.json`` holds ``train`` / ``test``
lists of annotation file names (``<id>.json``). Coordinates in ``info`` and
``sam2_bbox`` are already on the 0-1000 grid. With ``split_file="random_split"`` (or
task / device / app) that split is kept and ``val`` is carved out of ``train`` by the
split rule; without it, the hash rule splits.

| GUI-Odyssey action                    | ours                                       |
|---------------------------------------|--------------------------------------------|
| CLICK [[x, y], [x, y]]                | click(x, y) of the first point (1) (2)     |
| CLICK "KEY_HOME" / "KEY_BACK" /       | press(key="home" / "back" / "recents")     |
| "KEY_APPSELECT"                       |                                            |
| LONG_PRESS [[x, y], [x, y]]           | click(x, y) (1) (2) (3)                    |
| SCROLL [[x1, y1], [x2, y2]]           | scroll(direction of the content) (4)       |
| TEXT / TYPE "..."                     | type(text)                                 |
| HOME / BACK / PRESS "key"             | press(key="home" / "back" / key) (5)       |
| COMPLETE                              | done() (success)                           |
| INCOMPLETE / IMPOSSIBLE               | done(), `success` false, `meta.status`     |
| (no terminal action)                  | done() appended, without a screenshot      |

(1) The release records a tap as its touch-down and lift-off points; the official
converter (``format_converter.py``) uses the first, so do we (a single ``[[x, y]]``
is read too). (2) ``sam2_bbox`` becomes the click's target box when it contains the
point (a box that misses it would mark the reference click itself wrong; it stays in
`executed`); ``low_level_instruction`` becomes the click's / typing's `target`.
(3) No long press in the language; the source verb stays in `executed`. (4) A finger
swipe up (y2 < y1) scrolls the content down; the larger axis wins. (5) Spellings of
the 2024 docs, still accepted.

``intention``, ``context``, ``description``, ``ps`` and the source action ride along
in each step's `executed`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import Action, Box, Click, Done, Press, Scroll, Type
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import check, get, inside, number, text
from tracer1.data.importers.grid import grid_box, grid_point
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files

KEYS = {"KEY_HOME": "home", "KEY_BACK": "back", "KEY_APPSELECT": "recents",
        "HOME": "home", "BACK": "back"}
TERMINAL = {"COMPLETE": True, "IMPOSSIBLE": False, "INCOMPLETE": False}
STEP_NOTES = ("intention", "context", "description", "ps")
ActionFn = Callable[[Any, str], Action]
_ACTIONS: dict[str, ActionFn] = {}


def _maps(*verbs: str) -> Callable[[ActionFn], ActionFn]:
    def deco(fn: ActionFn) -> ActionFn:
        _ACTIONS.update(dict.fromkeys(verbs, fn))
        return fn

    return deco


def _points(info: Any, counts: tuple[int, ...], where: str) -> list[tuple[int, int]]:
    shape = " or ".join("[[x, y]]" if n == 1 else "[[x1, y1], [x2, y2]]" for n in counts)
    ok = isinstance(info, list) and len(info) in counts and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in info)
    if not ok:
        raise FieldError(where, f"expected {shape}, got {json.dumps(info)[:60]}")
    return [grid_point(number(p[0], f"{where}[{i}][0]"), number(p[1], f"{where}[{i}][1]"),
                       f"{where}[{i}]") for i, p in enumerate(info)]


@_maps("CLICK", "LONG_PRESS")
def _click(info, where) -> Action:
    if isinstance(info, str) and info in KEYS:
        return Press(KEYS[info])
    # Touch-down and lift-off points; the official converter takes the first.
    (x, y), *_ = _points(info, (1, 2), where)
    return Click(x, y)


@_maps("SCROLL")
def _scroll(info, where) -> Action:
    (x1, y1), (x2, y2) = _points(info, (2,), where)
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        raise FieldError(where, "a scroll that does not move")
    if abs(dy) >= abs(dx):
        return Scroll("down" if dy < 0 else "up")
    return Scroll("right" if dx < 0 else "left")


@_maps("TYPE", "TEXT")
def _type(info, where) -> Action:
    return Type(text(check(info, str, where), where))


@_maps("HOME", "BACK", "PRESS")
def _press(info, where) -> Action:
    key = check(info, str, where)
    return Press(KEYS.get(key, key.lower()))


def map_action(verb: str, info: Any, where: str) -> Action:
    """One GUI-Odyssey step -> ours (terminal verbs are handled by the caller).

    >>> map_action("SCROLL", [[500, 800], [500, 200]], "steps[0].info")
    Scroll(direction='down', target=None)
    >>> map_action("CLICK", "KEY_BACK", "steps[0].info")
    Press(key='back')
    >>> map_action("CLICK", [[719, 762], [719, 762]], "steps[0].info")
    Click(x=719, y=762, target=None)
    """
    if verb in ("HOME", "BACK"):
        return Press(KEYS[verb])
    fn = _ACTIONS.get(verb)
    if fn is None:
        known = sorted({*_ACTIONS, *TERMINAL})
        raise FieldError(where.rsplit(".", 1)[0] + ".action",
                         f"unknown action {verb!r} (known: {', '.join(known)})")
    return fn(info, where)


def _notes(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: raw[key] for key in STEP_NOTES if raw.get(key) not in (None, "")}


def _sam2_box(raw: dict[str, Any], where: str) -> Box | None:
    """The step's ``sam2_bbox`` on the grid, or None (absent or ``[]``)."""
    value = raw.get("sam2_bbox")
    if value is None or value == []:
        return None
    at = f"{where}.sam2_bbox"
    if not (isinstance(value, list) and len(value) == 4):
        raise FieldError(at, f"expected [x1, y1, x2, y2], got {json.dumps(value)[:60]}")
    return grid_box(tuple(number(v, f"{at}[{i}]") for i, v in enumerate(value)), at)


def annotate(action: Action, raw: dict[str, Any], where: str) -> Action:
    """The 2025 release's per-step extras on a mapped action: the SAM2 box of a click
    (when it holds the click's point) and the low-level instruction as the target."""
    step_text = get(raw, "low_level_instruction", str, where=where, default="").strip()
    if isinstance(action, Click):
        box = _sam2_box(raw, where)
        if box is not None and box.contains(action.x, action.y):
            action = dataclasses.replace(action, box=box)
    if isinstance(action, Click | Type) and step_text:
        action = dataclasses.replace(action, target=text(step_text, f"{where}.low_level_"
                                                                    "instruction"))
    return action


@register_importer("gui_odyssey")
class GuiOdysseyImporter:
    """``annotations/*.json`` + ``screenshots/`` (+ ``splits/``), see the module docstring."""

    name = "gui_odyssey"

    def __init__(self, split_file: str | None = None, instruction_field: str = "instruction"):
        if instruction_field not in ("instruction", "task"):
            raise ValueError(f"instruction_field must be 'instruction' or 'task', "
                             f"got {instruction_field!r}")
        self.split_file = split_file
        self.instruction_field = instruction_field

    def _splits(self, root: Path) -> dict[str, str]:
        if self.split_file is None:
            return {}
        name = self.split_file if self.split_file.endswith(".json") else f"{self.split_file}.json"
        path = root / "splits" / name
        if not path.is_file():
            raise FileNotFoundError(f"GUI-Odyssey split file {path} not found")
        doc = json.loads(path.read_bytes())
        return {str(eid).removesuffix(".json"): split for split, ids in doc.items()
                for eid in ids}

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        splits = self._splits(root)
        base = root / "annotations" if (root / "annotations").is_dir() else root
        for path in find_files(base, "*.json"):
            for record in file_records(root, path, shape="one"):
                if isinstance(record, Record):
                    record = Record(record.file, record.key,
                                    {"episode": record.data, "split": splits.get(path.stem)})
                yield record

    def convert(self, record: Record, root: Path) -> Draft:
        ep = record.data["episode"]
        eid = get(ep, "episode_id", (str, int))
        task = get(ep, "task_info", dict)
        device = get(ep, "device_info", dict, default={})
        raw_steps = get(ep, "steps", list)
        shots = root / "screenshots"
        steps, success, status = [], True, None
        for i, raw in enumerate(raw_steps):
            where = f"steps[{i}]"
            verb = get(raw, "action", str, where=where).upper()
            shot = inside(shots, get(raw, "screenshot", str, where=where), f"{where}.screenshot")
            if verb in TERMINAL:
                if i != len(raw_steps) - 1:
                    raise FieldError(f"{where}.action", f"{verb} before the last step")
                success, status = TERMINAL[verb], verb
                steps.append(DraftStep(Done(), screenshot=shot,
                                       executed={"source_action": verb, **_notes(raw)}))
                break
            action = annotate(map_action(verb, raw.get("info"), f"{where}.info"), raw, where)
            steps.append(DraftStep(action, screenshot=shot, executed={
                "source_action": verb, "info": raw.get("info"),
                "sam2_bbox": raw.get("sam2_bbox"), **_notes(raw)}))
        if status is None:  # no screen after the last action was recorded: none is shown
            steps.append(DraftStep(Done()))
        return Draft(
            source_id=str(eid),
            family=get(task, "category", str, where="task_info", default="unknown"),
            instruction=get(task, self.instruction_field, str, where="task_info"),
            steps=tuple(steps), success=success, split=record.data.get("split"),
            meta={"status": status or "ended", "apps": task.get("app"),
                  "device": device.get("device_name"),
                  "screen": [device.get("w"), device.get("h")]},
        )


__all__ = ["GuiOdysseyImporter", "annotate", "map_action"]
