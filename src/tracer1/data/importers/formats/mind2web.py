"""Multimodal-Mind2Web (osunlp/Multimodal-Mind2Web) and Mind2Web task files -> our episodes.

Two published layouts, one mapping:

* **parquet** (Multimodal-Mind2Web on the Hub, ``data/<split>-NNNNN-of-NNNNN.parquet``):
  one row per *action* with ``action_uid``, ``raw_html``, ``cleaned_html``,
  ``operation`` (a JSON string ``{"original_op", "value", "op"}``), ``pos_candidates``
  and ``neg_candidates`` (lists of JSON strings, one per candidate element),
  ``website``, ``domain``, ``subdomain``, ``annotation_id``, ``confirmed_task``,
  ``screenshot`` (an image: ``{"bytes", "path"}``, or null), ``action_reprs``,
  ``target_action_index`` and ``target_action_reprs``. Rows of one task are
  consecutive; the split is the file name's prefix (``train``, ``test_task``,
  ``test_website``, ``test_domain`` -> ``test``).
* **JSON** (Mind2Web, ``data/train/train_N.json``, ``data/test_task/test_task_N.json``
  ...): an array of tasks, each with ``annotation_id``, ``confirmed_task``, ``website``,
  ``domain``, ``subdomain``, ``action_reprs`` and ``actions`` [{``action_uid``,
  ``raw_html``, ``cleaned_html``, ``operation`` {``original_op``, ``value``, ``op``},
  ``pos_candidates``, ``neg_candidates``}]; no screenshots.

A candidate is ``{"tag", "attributes", "backend_node_id", "is_original_target",
"is_top_level_target"}`` with ``attributes`` a JSON string holding
``bounding_box_rect`` (``"x,y,width,height"`` in page pixels).

| Mind2Web operation                      | ours                                       |
|-----------------------------------------|--------------------------------------------|
| CLICK (original HOVER / ENTER included) | click(box center, target=element) + box    |
| TYPE value                              | type(text=value, target=element) + box     |
| SELECT value                            | select(text=value, target=element) + box   |
| (episode end)                           | done(), no screenshot (none after the end) |

**The target** is a *visible* positive candidate: one whose rectangle has an area and
overlaps the page (Mind2Web marks elements that were not rendered ``"-1,-1,-1,-1"``),
the original target first, then the top-level one, then source order. Its rectangle
becomes the step's `target_box` on the grid, scaled by the page size.

**A step without a visible target** (no positive candidate at all, or none visible):
a TYPE or SELECT is kept without a box (its value and element text say what to do);
a CLICK has no point to click and is left out, recorded in ``meta.skipped_steps``
({``index``, ``action_uid``, ``reason``}). A task left with no step is a record error.

**The page size** is the row's screenshot's. A row without one (a null screenshot)
takes the size of the nearest row of the same task that has one (the previous first):
the same site at the same width, not an assumed viewport. Only a task with no
screenshot at all (the JSON layout) assumes Mind2Web's 1280 px wide viewport, as
tall as its deepest target box (at least 720 px); the files carry no page size.
The element text is the part of ``action_reprs[i]`` before `` -> ``
(``"[button]  Search -> CLICK"`` -> ``"[button] Search"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import Action, Click, Done, Select, Type
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import check, get, json_field, text
from tracer1.data.importers.grid import Size, box_to_grid
from tracer1.data.importers.images import image_size
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files, parquet_rows, relative

VIEWPORT_WIDTH = 1280
MIN_PAGE_HEIGHT = 720
_SPACES = re.compile(r"\s+")
_COLUMNS = ("annotation_id", "confirmed_task", "website", "domain", "subdomain", "action_uid",
            "operation", "pos_candidates", "screenshot", "action_reprs", "target_action_index")

OpFn = Callable[[str, str | None, Any], Action]
_OPS: dict[str, OpFn] = {  # a CLICK always has a box here: without one it is skipped
    "CLICK": lambda value, target, box: Click(*box.center, target=target, box=box),
    "TYPE": lambda value, target, box: Type(value, target=target, box=box),
    "SELECT": lambda value, target, box: Select(value, target=target, box=box),
}


def element_text(action_repr: str) -> str:
    """``"[button]  Search -> CLICK"`` -> ``"[button] Search"``.

    >>> element_text("[combobox]  Reservation type -> SELECT: Events")
    '[combobox] Reservation type'
    """
    return _SPACES.sub(" ", action_repr.split(" -> ")[0]).strip()


def _candidate(raw: Any, where: str) -> dict[str, Any]:
    return check(json_field(raw, where), dict, where)


def candidate_rect(candidate: Any, where: str) -> tuple[float, float, float, float]:
    """The candidate's ``bounding_box_rect`` as pixel (left, top, right, bottom)."""
    cand = _candidate(candidate, where)
    attrs = check(json_field(get(cand, "attributes", (str, dict), where=where),
                             f"{where}.attributes"), dict, f"{where}.attributes")
    rect = get(attrs, "bounding_box_rect", str, where=f"{where}.attributes")
    try:
        x, y, w, h = (float(v) for v in rect.split(","))
    except ValueError:
        raise FieldError(f"{where}.attributes.bounding_box_rect",
                         f"expected 'x,y,width,height', got {rect!r}") from None
    return x, y, x + w, y + h


def visible(rect: tuple[float, float, float, float], size: Size | None) -> bool:
    """A rectangle with an area, overlapping the page when its size is known.

    >>> visible((-1, -1, -2, -2), None), visible((10, 10, 50, 20), (1280, 720))
    (False, True)
    """
    left, top, right, bottom = rect
    if not all(math.isfinite(v) for v in rect) or right <= left or bottom <= top:
        return False
    return size is None or (right > 0 and bottom > 0 and left < size[0] and top < size[1])


Target = tuple[int, tuple[float, float, float, float]]
"""(index in pos_candidates, its pixel rectangle)."""


def visible_targets(candidates: list[Any], where: str) -> list[Target]:
    """The visible positive candidates, best first (original target, top-level, order)."""
    ranked = []
    for k, raw in enumerate(candidates):
        at = f"{where}[{k}]"
        cand, rect = _candidate(raw, at), candidate_rect(raw, at)
        if visible(rect, None):
            rank = (cand.get("is_original_target") is not True,
                    cand.get("is_top_level_target") is not True, k)
            ranked.append((rank, (k, rect)))
    return [target for _, target in sorted(ranked)]


def _split_of(file_name: str) -> str | None:
    stem = Path(file_name).name.split("-")[0].split(".")[0]
    return stem if stem.startswith(("train", "test", "val")) else None


@register_importer("mind2web")
class Mind2WebImporter:
    """Multimodal-Mind2Web parquet files or Mind2Web task JSON (see the module docstring)."""

    name = "mind2web"

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        for path in find_files(root, "*.parquet"):
            yield from self._parquet_tasks(root, path)
        for path in find_files(root, "*.json"):
            for record in file_records(root, path, shape="list"):
                if isinstance(record, Record):
                    split = _split_of(path.name.split("_")[0])
                    record = Record(record.file, record.key, {"task": record.data,
                                                              "split": split})
                yield record

    def _parquet_tasks(self, root: Path, path: Path) -> Iterator[Record | RecordError]:
        """One record per task: the task's consecutive action rows, grouped."""
        current: list[dict[str, Any]] = []
        for row in parquet_rows(root, path, _COLUMNS, batch_size=64):
            if isinstance(row, RecordError):
                yield row
                return
            data = row.data
            if current and data.get("annotation_id") != current[0].get("annotation_id"):
                yield self._task_record(row.file, current)
                current = []
            current.append(data)
        if current:
            yield self._task_record(relative(root, path), current)

    @staticmethod
    def _task_record(name: str, rows: list[dict[str, Any]]) -> Record:
        first = rows[0]

        def order(row: dict[str, Any]) -> int:
            try:
                return int(row.get("target_action_index") or 0)
            except ValueError:
                return 0

        rows = sorted(rows, key=order)
        task = {key: first.get(key) for key in ("annotation_id", "confirmed_task", "website",
                                                "domain", "subdomain", "action_reprs")}
        task["actions"] = [{"action_uid": r.get("action_uid"), "operation": r.get("operation"),
                            "pos_candidates": r.get("pos_candidates"),
                            "screenshot": r.get("screenshot")} for r in rows]
        return Record(name, str(first.get("annotation_id")), {"task": task,
                                                              "split": _split_of(name)})

    def convert(self, record: Record, root: Path) -> Draft:
        task = record.data["task"]
        actions = get(task, "actions", list)
        reprs = get(task, "action_reprs", list, default=[])
        found, shots = [], []
        for i, raw in enumerate(actions):
            where = f"actions[{i}]"
            found.append(visible_targets(get(raw, "pos_candidates", list, where=where),
                                         f"{where}.pos_candidates"))
            shot = raw.get("screenshot")
            shot = shot.get("bytes") if isinstance(shot, dict) else shot
            shots.append(shot if isinstance(shot, bytes) and shot else None)
        sizes = page_sizes(shots, [t[0][1] for t in found if t])
        # A candidate wholly off the page is not what the annotator saw: not a target.
        targets = [[t for t in ts if visible(t[1], size)] for ts, size in zip(found, sizes,
                                                                               strict=True)]
        steps, skipped = [], []
        for i, raw in enumerate(actions):
            step = self._step(raw, i, targets[i], sizes[i], shots[i], reprs)
            if isinstance(step, DraftStep):
                steps.append(step)
            else:
                skipped.append({"index": i, "action_uid": raw.get("action_uid"), "reason": step})
        if not steps:
            raise FieldError("actions", f"no step left: {skipped[0]['reason']}" if skipped
                             else "no actions")
        # The release has no screen after the last action: the closing done() shows none.
        steps.append(DraftStep(Done()))
        meta = {"website": task.get("website"), "subdomain": task.get("subdomain")}
        if skipped:
            meta["skipped_steps"] = skipped
        return Draft(
            source_id=str(get(task, "annotation_id", str)),
            family=get(task, "domain", str, default="web") or "web",
            instruction=get(task, "confirmed_task", str), steps=tuple(steps),
            split=record.data.get("split"), meta=meta,
        )

    @staticmethod
    def _step(raw: dict[str, Any], i: int, targets: list[Target], size: Size,
              shot: bytes | None, reprs: list[Any]) -> DraftStep | str:
        """One action row -> a step, or the reason it is left out (a CLICK with no target)."""
        where = f"actions[{i}]"
        op = check(json_field(get(raw, "operation", (str, dict), where=where),
                              f"{where}.operation"), dict, f"{where}.operation")
        verb = get(op, "op", str, where=f"{where}.operation").upper()
        fn = _OPS.get(verb)
        if fn is None:
            raise FieldError(f"{where}.operation.op", f"unknown operation {verb!r} "
                                                      f"(known: {', '.join(_OPS)})")
        value = text(get(op, "value", str, where=f"{where}.operation", default=""),
                     f"{where}.operation.value")
        target = element_text(reprs[i]) if i < len(reprs) and isinstance(reprs[i], str) \
            else None
        box = None
        if targets:
            k, rect = targets[0]
            box = box_to_grid(rect, size, f"{where}.pos_candidates[{k}].bounding_box_rect")
        elif verb == "CLICK":
            return "CLICK without a visible positive candidate: no point to click"
        return DraftStep(fn(value, target or None, box), screenshot=shot,
                         executed={"source_action": op, "action_uid": raw.get("action_uid")})


def page_sizes(shots: list[bytes | None],
               rects: list[tuple[float, float, float, float]]) -> list[Size]:
    """Each row's page size: its screenshot's, else the nearest screenshot's in the task
    (the previous first), else the assumed viewport (no screenshot in the whole task).

    >>> page_sizes([None, None], [(0, 0, 10, 900)])
    [(1280, 900), (1280, 900)]
    """
    known = [(i, image_size(s, f"actions[{i}].screenshot")) for i, s in enumerate(shots) if s]
    if not known:
        height = math.ceil(max([MIN_PAGE_HEIGHT, *(r[3] for r in rects)]))
        return [(VIEWPORT_WIDTH, height)] * len(shots)
    return [min(known, key=lambda k: (abs(k[0] - i), k[0] > i))[1] for i in range(len(shots))]


__all__ = ["Mind2WebImporter", "candidate_rect", "element_text", "page_sizes", "visible",
           "visible_targets"]
