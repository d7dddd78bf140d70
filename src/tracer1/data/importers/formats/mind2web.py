"""Multimodal-Mind2Web (osunlp/Multimodal-Mind2Web) and Mind2Web task files -> our episodes.

Two published layouts, one mapping:

* **parquet** (Multimodal-Mind2Web on the Hub, ``<split>-NNNNN-of-NNNNN.parquet``): one row
  per *action* with ``annotation_id``, ``confirmed_task``, ``website``, ``domain``,
  ``subdomain``, ``action_uid``, ``operation`` (a JSON string ``{"op", "original_op",
  "value"}``), ``pos_candidates`` (JSON strings of candidate elements), ``screenshot``
  (an image: ``{"bytes", "path"}``), ``action_reprs`` and ``target_action_index``.
  Rows of one task are consecutive; the split is the file name's prefix
  (``train``, ``test_task``, ``test_website``, ``test_domain`` -> ``test``).
* **JSON** (Mind2Web ``train_*.json`` / ``test_*.json``): an array of tasks, each with
  ``actions`` [{``action_uid``, ``operation`` {op, value}, ``pos_candidates``}] and
  ``action_reprs``; no screenshots.

| Mind2Web operation                      | ours                                       |
|-----------------------------------------|--------------------------------------------|
| CLICK (original HOVER / ENTER included) | click(box center, target=element) + box    |
| TYPE value                              | type(text=value, target=element) + box     |
| SELECT value                            | select(text=value, target=element) + box   |
| (episode end)                           | done(), no screenshot (none after the end) |

The target is the first positive candidate; its ``attributes.bounding_box_rect``
(``"x,y,width,height"`` in page pixels) becomes the step's `target_box` on the grid,
scaled by the screenshot's pixel size. Without a screenshot (JSON layout) the page
is taken as 1280 px wide (Mind2Web's viewport) and as tall as the task's deepest
target box (at least 720 px) — an assumption; the published files carry no page size.
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
from tracer1.data.importers.sources import file_records, find_files, relative

VIEWPORT_WIDTH = 1280
MIN_PAGE_HEIGHT = 720
_SPACES = re.compile(r"\s+")
_COLUMNS = ("annotation_id", "confirmed_task", "website", "domain", "subdomain", "action_uid",
            "operation", "pos_candidates", "screenshot", "action_reprs", "target_action_index")

OpFn = Callable[[str, str | None, Any], Action]
_OPS: dict[str, OpFn] = {
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


def candidate_rect(candidate: Any, where: str) -> tuple[float, float, float, float]:
    """The candidate's ``bounding_box_rect`` as pixel (left, top, right, bottom)."""
    cand = check(json_field(candidate, where), dict, where)
    attrs = check(json_field(get(cand, "attributes", (str, dict), where=where),
                             f"{where}.attributes"), dict, f"{where}.attributes")
    rect = get(attrs, "bounding_box_rect", str, where=f"{where}.attributes")
    try:
        x, y, w, h = (float(v) for v in rect.split(","))
    except ValueError:
        raise FieldError(f"{where}.attributes.bounding_box_rect",
                         f"expected 'x,y,width,height', got {rect!r}") from None
    return x, y, x + w, y + h


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
        import pyarrow.parquet as pq  # lazy: only parquet sources pay for it

        name = relative(root, path)
        try:
            table = pq.ParquetFile(path)
            columns = [c for c in _COLUMNS if c in table.schema_arrow.names]
            batches = table.iter_batches(columns=columns, batch_size=64)
            current: list[dict[str, Any]] = []
            for batch in batches:
                for row in batch.to_pylist():
                    if current and row.get("annotation_id") != current[0].get("annotation_id"):
                        yield self._task_record(name, current)
                        current = []
                    current.append(row)
            if current:
                yield self._task_record(name, current)
        except OSError as exc:  # pyarrow's ArrowInvalid is an OSError/ValueError subclass
            yield RecordError(name, "<file>", "<parquet>", str(exc))
        except ValueError as exc:
            yield RecordError(name, "<file>", "<parquet>", str(exc))

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
        rects, shots = [], []
        for i, raw in enumerate(actions):
            where = f"actions[{i}]"
            candidates = get(raw, "pos_candidates", list, where=where)
            if not candidates:
                raise FieldError(f"{where}.pos_candidates", "no positive candidate: the target "
                                                            "element is unknown")
            rects.append(candidate_rect(candidates[0], f"{where}.pos_candidates[0]"))
            shot = raw.get("screenshot")
            if isinstance(shot, dict):
                shot = shot.get("bytes")
            shots.append(shot if isinstance(shot, bytes) and shot else None)
        page_height = max([MIN_PAGE_HEIGHT, *(r[3] for r in rects)])
        steps = []
        for i, raw in enumerate(actions):
            where = f"actions[{i}]"
            size: Size = (image_size(shots[i], f"{where}.screenshot") if shots[i]
                          else (VIEWPORT_WIDTH, math.ceil(page_height)))
            box = box_to_grid(rects[i], size, f"{where}.pos_candidates[0].bounding_box_rect")
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
            steps.append(DraftStep(fn(value, target or None, box), screenshot=shots[i],
                                   executed={"source_action": op,
                                             "action_uid": raw.get("action_uid")}))
        # The release has no screen after the last action: the closing done() shows none.
        steps.append(DraftStep(Done()))
        return Draft(
            source_id=str(get(task, "annotation_id", str)),
            family=get(task, "domain", str, default="web") or "web",
            instruction=get(task, "confirmed_task", str), steps=tuple(steps),
            split=record.data.get("split"),
            meta={"website": task.get("website"), "subdomain": task.get("subdomain")},
        )


__all__ = ["Mind2WebImporter", "candidate_rect", "element_text"]
