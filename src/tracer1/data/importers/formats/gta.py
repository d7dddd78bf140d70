"""GTA (open-compass/GTA) tool-use queries -> tool-call episodes.

Layout read (the v0.1.0 release, ``gta_dataset.zip`` -> ``gta_dataset/``; also the Hub
copy ``Jize1/GTA``): ``dataset.json``, an object of queries by id (``"0"`` ..
``"228"``), beside ``toolmeta.json`` (the deployed tools' descriptions, not read: each
query lists its own) and ``image/`` (the attached files). Each query has ``tools``
[{``name``, ``description``, ``inputs``, ``outputs``}] (the tools offered), ``files``
[{``type``, ``path``, ``url``}] (attached images, paths relative to ``dataset.json``),
``dialogs`` (the reference chain, OpenAI-style messages: ``user`` with the query,
``assistant`` with ``tool_calls`` [{``type": "function"``, ``function`` {``name``,
``arguments``}}] and a ``thought``, ``tool`` with ``name`` and ``content``
{``type``, ``content``}, and a final ``assistant`` with ``content``) and
``gt_answer``: ``{"whitelist": [[...]], "blacklist": [[...]] | null}`` for objective
queries, a list of reference answers for subjective ones, or null for
image-generation queries. Arguments are kept as the release writes them: DrawBox's
``bbox`` is the text ``"(x1, y1, x2, y2)"``, an image argument a path such as
``image/image_9.jpg``.

| GTA dialog message                  | ours                                           |
|-------------------------------------|------------------------------------------------|
| first user ``content``              | the episode's instruction                      |
| assistant ``tool_calls[k]``         | tool(name=function.name, args=arguments) (1)   |
| tool ``content``                    | appended to later observations (name: content) |
| last assistant ``content``          | answer(text=...)                               |
| (no final answer: image generation) | done()                                         |
| ``files``                           | copied to ``attachments/<episode_id>/`` (2)    |

(1) Nested argument values become JSON text (tool arguments are scalars).
(2) And named in the first step's observation text.

The reference answer's ``gt_answer`` stays in `meta` for GTA-style answer scoring
(`conventions.gta_answer_matches`: the phrase lists, or any of the subjective
references); tool accuracy is `conventions.tool_accuracy` over the tool steps. Every query is one
family (``gta``): the release carries no per-query category.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import MAX_TOOL_ARGS, Action, Answer, ArgValue, Done, Tool
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import check, get, inside, json_field, text
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files


def tool_args(raw: Any, where: str) -> dict[str, ArgValue]:
    """Arguments as the action language holds them: scalars, nested values as JSON text.

    >>> tool_args({"image": "image/1.jpg", "boxes": [1, 2]}, "a")
    {'image': 'image/1.jpg', 'boxes': '[1, 2]'}
    """
    args = check(json_field(raw, where), dict, where)
    if len(args) > MAX_TOOL_ARGS:
        raise FieldError(where, f"{len(args)} arguments, over the {MAX_TOOL_ARGS} limit")
    out: dict[str, ArgValue] = {}
    for key, value in args.items():
        if isinstance(value, str | bool | int) or (isinstance(value, float)):
            out[key] = text(value, f"{where}.{key}") if isinstance(value, str) else value
        else:
            out[key] = text(json.dumps(value, ensure_ascii=False), f"{where}.{key}")
    return out


def _content(value: Any) -> str:
    """A message's content as text (GTA wraps tool output as {"type": "text", "content"})."""
    if isinstance(value, dict):
        return str(value.get("content", json.dumps(value, ensure_ascii=False)))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@register_importer("gta")
class GtaImporter:
    """``dataset.json`` + attached files (see the module docstring)."""

    name = "gta"

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        for path in find_files(root, "dataset.json"):
            yield from file_records(root, path, shape="dict")

    def convert(self, record: Record, root: Path) -> Draft:
        query = check(record.data, dict, "<record>")
        dialogs = get(query, "dialogs", list)
        base = (root / record.file).parent
        files = get(query, "files", list, default=[])
        attachments = []
        for i, item in enumerate(files):
            rel = get(item, "path", str, where=f"files[{i}]")
            attachments.append((rel, inside(base, rel, f"files[{i}].path")))
        instruction = None
        steps: list[DraftStep] = []
        seen = ("Attached files: " + ", ".join(name for name, _ in attachments)) \
            if attachments else ""
        final: Action | None = None
        for i, message in enumerate(dialogs):
            where = f"dialogs[{i}]"
            role = get(message, "role", str, where=where)
            if final is not None:
                raise FieldError(f"{where}.role", "a message after the final answer")
            if role == "user" and instruction is None:
                instruction = _content(get(message, "content", (str, dict, list), where=where))
            elif role == "assistant" and message.get("tool_calls"):
                for k, call in enumerate(get(message, "tool_calls", list, where=where)):
                    at = f"{where}.tool_calls[{k}].function"
                    function = get(call, "function", dict, where=f"{where}.tool_calls[{k}]")
                    name = text(get(function, "name", str, where=at), f"{at}.name")
                    args = tool_args(get(function, "arguments", (dict, str), where=at),
                                     f"{at}.arguments")
                    steps.append(DraftStep(Tool.of(name, args), text=seen,
                                           executed={"thought": message.get("thought")}))
            elif role == "tool":
                name = get(message, "name", str, where=where, default="tool")
                output = _content(message.get("content"))
                seen = f"{seen}\n{name}: {output}".strip()
            elif role == "assistant":
                content = _content(get(message, "content", (str, dict), where=where))
                final = Answer(text(content, f"{where}.content"))
        if instruction is None:
            raise FieldError("dialogs", "no user message with the query")
        steps.append(DraftStep(final or Done(), text=seen))
        gt = query.get("gt_answer")
        return Draft(
            source_id=record.key, family="gta", instruction=instruction, steps=tuple(steps),
            meta={"gt_answer": gt, "tools": [t.get("name") for t in query.get("tools") or []
                                             if isinstance(t, dict)]},
            attachments=tuple(attachments),
        )


__all__ = ["GtaImporter", "tool_args"]
