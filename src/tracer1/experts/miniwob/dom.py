"""Helpers every MiniWoB expert uses to read an observation's elements and write actions."""

from __future__ import annotations

from collections.abc import Iterable

from tracer1.actions import Click
from tracer1.trajectory import Element, Observation


def find(obs: Observation, *, text: str | None = None, tag: str | None = None,
         prefix: str | None = None) -> list[Element]:
    """Elements whose text equals `text` (case-sensitive) and whose tag is or starts with."""
    out = []
    for e in obs.elements:
        if text is not None and e.text != text:
            continue
        if tag is not None and e.tag != tag:
            continue
        if prefix is not None and not e.tag.startswith(prefix):
            continue
        out.append(e)
    return out


def first(elements: Iterable[Element]) -> Element | None:
    return next(iter(elements), None)


def click(element: Element, target: str | None = None) -> Click:
    """A click at the element's centre, described and annotated with its box."""
    x, y = element.box.center
    return Click(x, y, target=target if target is not None else (element.text or element.tag),
                 box=element.box)


def focused_ref(obs: Observation) -> str | None:
    for line in obs.text.splitlines():
        if line.startswith("Focused: [") and line.endswith("]"):
            return line[len("Focused: ["):-1]
    return None
