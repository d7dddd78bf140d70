"""A `Draft` -> an `Episode` of our schema: id, seed, screenshot paths, and the dataset checks.

Everything `validate_dataset` would refuse is refused here, per record, so a
bad source record is reported as ``file:record: field: problem`` at import time
(and skipped or fatal) instead of failing the whole dataset later:

* the episode id is ``<suite>/<source id>`` with the source id reduced to
  ``[A-Za-z0-9._-]`` (it becomes a directory name under ``screenshots/``, so it can
  never contain a path separator or ``..``);
* the seed is a stable 48-bit hash of the episode id (validation keys tasks by
  (suite, family, seed), and a collision is reported, never silently merged);
* length, instruction and observation sizes are the `ValidateDatasetConfig` limits;
* the episode survives the strict JSON round trip of `tracer1.trajectory`
  (coordinates on the grid, text within `MAX_TEXT_CHARS`, tool arguments well formed);
* every screenshot is a readable image;
* an episode whose source withholds the reference (`Draft.scored` false: GAIA's test
  answers) says so in ``meta.scored = false``: usable closed-loop, not for scoring.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from tracer1.config import ValidateDatasetConfig
from tracer1.data.build import screenshot_path
from tracer1.data.importers.draft import Draft
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.images import image_size
from tracer1.trajectory import (
    Episode,
    Observation,
    SchemaError,
    Step,
    episode_from_json,
    episode_to_json,
)

ATTACHMENTS = "attachments"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SEED_BITS = 48


def safe_id(source_id: str) -> str:
    """A source id as one safe path component.

    >>> safe_id("../etc/passwd"), safe_id("ep 7/b")
    ('etc_passwd', 'ep_7_b')
    """
    cleaned = _UNSAFE.sub("_", source_id).strip("._") or "_"
    return cleaned[:120]


def episode_id(suite: str, source_id: str) -> str:
    return f"{suite}/{safe_id(source_id)}"


def stable_seed(episode_id: str) -> int:
    """A stable non-negative seed for an imported episode (no RNG is ever seeded by it).

    >>> stable_seed("gaia/abc") == stable_seed("gaia/abc") < 2**48
    True
    """
    return int(hashlib.sha256(episode_id.encode()).hexdigest()[: SEED_BITS // 4], 16)


def attachment_path(episode_id: str, name: str) -> str:
    """Where an attached file lives, relative to the trajectory directory."""
    return f"{ATTACHMENTS}/{episode_id}/{safe_id(name)}"


@dataclass(frozen=True)
class Assembled:
    """An episode ready to write (split still the placeholder) and the files it needs copied."""

    episode: Episode
    copies: tuple[tuple[str, object, str], ...]
    """(relative destination, source image or attachment path, the record field naming it)."""


def assemble(draft: Draft, suite: str, limits: ValidateDatasetConfig) -> Assembled:
    """Check a draft and build its Episode; raises FieldError naming the field."""
    eid = episode_id(suite, draft.source_id)
    instruction = draft.instruction.strip()
    if not instruction:
        raise FieldError("instruction", "empty instruction")
    if len(instruction) > limits.max_instruction_chars:
        raise FieldError("instruction", f"{len(instruction)} characters, over the "
                                        f"{limits.max_instruction_chars} limit")
    if not limits.min_episode_steps <= len(draft.steps) <= limits.max_episode_steps:
        raise FieldError("steps", f"{len(draft.steps)} steps, outside the "
                                  f"{limits.min_episode_steps}..{limits.max_episode_steps} "
                                  "episode length")
    copies: list[tuple[str, object, str]] = []
    steps = []
    for i, draft_step in enumerate(draft.steps):
        if len(draft_step.text) > limits.max_observation_chars:
            raise FieldError(f"steps[{i}].observation", f"{len(draft_step.text)} characters, "
                             f"over the {limits.max_observation_chars} limit")
        shot = None
        if draft_step.screenshot is not None:
            image_size(draft_step.screenshot, f"steps[{i}].screenshot")
            shot = screenshot_path(eid, i)
            copies.append((shot, draft_step.screenshot, f"steps[{i}].screenshot"))
        observation = Observation(draft_step.text, draft_step.elements, shot)
        steps.append(Step(i, observation, draft_step.action, executed=dict(draft_step.executed)))
    meta = {"source_id": draft.source_id, "imported_from": suite, **draft.meta}
    if not draft.scored:
        meta["scored"] = False
    if draft.attachments:
        meta["attachments"] = [attachment_path(eid, name) for name, _ in draft.attachments]
        copies += [(attachment_path(eid, name), path, "attachments")
                   for name, path in draft.attachments]
    episode = Episode(
        episode_id=eid, suite=suite, family=draft.family, seed=stable_seed(eid),
        split="unassigned", instruction=instruction, steps=tuple(steps),
        success=draft.success, meta=meta,
    )
    try:
        # The strict reader is the contract: what it refuses later must be refused now.
        record = episode_to_json(episode)
        json.dumps(record, allow_nan=False)  # what write_jsonl will do, now, per record
        episode_from_json(record)
    except SchemaError as exc:
        raise FieldError(exc.field, exc.problem) from None
    except (TypeError, ValueError) as exc:  # e.g. a non-finite tool argument, unserialisable meta
        raise FieldError("<episode>", str(exc)) from None
    return Assembled(episode, tuple(copies))


__all__ = ["ATTACHMENTS", "Assembled", "assemble", "attachment_path", "episode_id",
           "safe_id", "stable_seed"]
