"""What a format importer produces: an episode in our action language, not yet placed.

A `Draft` is everything the source says about one episode, already mapped into
`tracer1.actions` (grid coordinates, target boxes, terminal verb), with its
screenshots still where the source keeps them. `tracer1.data.importers.api`
turns drafts into `Episode`s: it gives each an id, a seed and a split, and
copies the screenshots under ``screenshots/<episode_id>/<i>.png``.

>>> from tracer1.actions import Click, Done
>>> d = Draft("17", "android", "Open settings",
...           (DraftStep(Click(500, 20, target="tap Settings")), DraftStep(Done())))
>>> [s.action.verb for s in d.steps]
['click', 'done']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer1.actions import Action
from tracer1.data.importers.images import Image
from tracer1.trajectory import Element


@dataclass(frozen=True)
class DraftStep:
    """One mapped step. `screenshot` is the source image (a file or embedded bytes).

    `executed` keeps what the source recorded for the step (its own action, a thought),
    so nothing the mapping dropped is lost.
    """

    action: Action
    screenshot: Image | None = None
    text: str = ""
    elements: tuple[Element, ...] = ()
    executed: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Draft:
    """One source episode mapped into our action language.

    `source_id` is the dataset's own episode id (unique within a source);
    `split` is the dataset's own split name, when it ships one (``validation``,
    ``test_task``, ...: mapped by the split rule); `attachments` are
    (name, file) pairs copied under ``attachments/<episode_id>/`` (GAIA / GTA files).
    `scored` is false when the source withholds the reference (GAIA's test answers
    are ``?``): such an episode only ever goes to the test split (nothing to learn
    from), is marked ``meta.scored = false`` and is usable for closed-loop runs only.
    """

    source_id: str
    family: str
    instruction: str
    steps: tuple[DraftStep, ...]
    success: bool = True
    split: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    attachments: tuple[tuple[str, Path], ...] = ()
    scored: bool = True


__all__ = ["Draft", "DraftStep"]
