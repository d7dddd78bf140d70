"""GUI-Odyssey (OpenGVLab/GUI-Odyssey) -> our episodes.

Layout read (the published ``data/`` folder): ``annotations/<episode_id>.json``,
one episode each: ``episode_id``, ``device_info`` {``w``, ``h``, ``device_name`` ...},
``task_info`` {``category``, ``app``, ``meta_task``, ``task``, ``instruction``},
``step_length`` and ``steps`` [{``step``, ``screenshot`` (a file in ``screenshots/``),
``action``, ``info``, ``ps``}]; ``splits/<name>_split.json`` holds ``train`` / ``test``
lists of episode ids. Coordinates in ``info`` are already on the 0-1000 grid.
With ``split_file="random_split"`` (or task / device / app) that split is kept and
``val`` is carved out of ``train`` by the split rule; without it, the hash rule splits.

| GUI-Odyssey action                    | ours                                       |
|---------------------------------------|--------------------------------------------|
| CLICK [[x, y]]                        | click(x, y)                                |
| CLICK "KEY_HOME" / "KEY_BACK" /       | press(key="home" / "back" / "recents")     |
| "KEY_APPSELECT"                       |                                            |
| LONG_PRESS [[x, y]]                   | click(x, y) (1)                            |
| SCROLL [[x1, y1], [x2, y2]]           | scroll(direction of the content) (2)       |
| TYPE / TEXT "..."                     | type(text)                                 |
| HOME / BACK / PRESS "key"             | press(key="home" / "back" / key)           |
| COMPLETE                              | done() (success)                           |
| IMPOSSIBLE / INCOMPLETE               | done(), `success` false, `meta.status`     |
| (no terminal action)                  | done() appended, without a screenshot      |

(1) No long press in the language; the source verb stays in `executed`.
(2) A finger swipe up (y2 < y1) scrolls the content down; the larger axis wins.

Not confirmed from the published docs: the docs list TYPE (the brief's TEXT) and
HOME/BACK as actions while also saying CLICK may carry KEY_HOME / KEY_BACK;
both spellings are accepted. GUI-Odyssey has no target boxes: clicks carry points.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import Action, Click, Done, Press, Scroll, Type
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import check, get, inside, number, text
from tracer1.data.importers.grid import grid_point
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files

KEYS = {"KEY_HOME": "home", "KEY_BACK": "back", "KEY_APPSELECT": "recents",
        "HOME": "home", "BACK": "back"}
TERMINAL = {"COMPLETE": True, "IMPOSSIBLE": False, "INCOMPLETE": False}
ActionFn = Callable[[Any, str], Action]
_ACTIONS: dict[str, ActionFn] = {}


def _maps(*verbs: str) -> Callable[[ActionFn], ActionFn]:
    def deco(fn: ActionFn) -> ActionFn:
        _ACTIONS.update(dict.fromkeys(verbs, fn))
        return fn

    return deco


def _points(info: Any, count: int, where: str) -> list[tuple[int, int]]:
    shape = "[[x, y]]" if count == 1 else "[[x1, y1], [x2, y2]]"
    ok = isinstance(info, list) and len(info) == count and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in info)
    if not ok:
        raise FieldError(where, f"expected {shape}, got {json.dumps(info)[:60]}")
    return [grid_point(number(p[0], f"{where}[{i}][0]"), number(p[1], f"{where}[{i}][1]"),
                       f"{where}[{i}]") for i, p in enumerate(info)]


@_maps("CLICK", "LONG_PRESS")
def _click(info, where) -> Action:
    if isinstance(info, str) and info in KEYS:
        return Press(KEYS[info])
    (x, y), = _points(info, 1, where)
    return Click(x, y)


@_maps("SCROLL")
def _scroll(info, where) -> Action:
    (x1, y1), (x2, y2) = _points(info, 2, where)
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
    """
    if verb in ("HOME", "BACK"):
        return Press(KEYS[verb])
    fn = _ACTIONS.get(verb)
    if fn is None:
        known = sorted({*_ACTIONS, *TERMINAL})
        raise FieldError(where.rsplit(".", 1)[0] + ".action",
                         f"unknown action {verb!r} (known: {', '.join(known)})")
    return fn(info, where)


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
                steps.append(DraftStep(Done(), screenshot=shot, executed={"source_action": verb,
                                                                          "ps": raw.get("ps")}))
                break
            action = map_action(verb, raw.get("info"), f"{where}.info")
            steps.append(DraftStep(action, screenshot=shot,
                                   executed={"source_action": verb, "info": raw.get("info")}))
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


__all__ = ["GuiOdysseyImporter", "map_action"]
