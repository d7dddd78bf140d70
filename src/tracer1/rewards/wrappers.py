"""trl-compatible reward functions: `fn(prompts, completions, **dataset_columns) -> list`.

Callable classes, not closures, so a configured reward stays picklable (trl and
accelerate may pickle reward functions); each sets `__name__`, which trl logs the
reward under. Completions may be plain strings or conversational message lists
(`[{"role": "assistant", "content": "..."}]`). They never raise on model output.

Dataset columns read (trl passes extra columns as keyword arguments, one value per
completion):

* `reference` - canonical plan text (`format_plan`) of the reference window, padded
  with `done()` to the horizon by the window builder;
* `reference_boxes` (optional) - per row, one `[left, top, right, bottom]` or None per
  reference action (the target boxes, which the text form does not carry).

>>> from tracer1.actions import Click, Done, format_plan
>>> ref = format_plan([Click(10, 10), Done()])
>>> reward = TrajectoryReward(gamma=0.9, lambda_align=1.0, lambda_rep=0.5)
>>> reward(prompts=["p"], completions=[[{"role": "assistant", "content": ref}]], reference=[ref])
[1.0]
>>> FormatReward(horizon=2)(prompts=["p"], completions=["no plan"])
[0.0]
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from tracer1.actions import GUI_ACTIONS, Action, Box, parse_plan
from tracer1.rewards.forecast import check_weights, trajectory_rewards
from tracer1.rewards.plan_format import format_reward


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or the assistant messages' contents joined.

    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}])
    'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if not isinstance(completion, Sequence):
        return ""
    parts = [
        _content_text(message.get("content"))
        for message in completion
        if isinstance(message, Mapping) and message.get("role", "assistant") == "assistant"
    ]
    return "\n".join(parts)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):  # multimodal parts: keep the text ones
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def attach_boxes(actions: Sequence[Action], boxes: Sequence[Any] | None) -> list[Action]:
    """Put the dataset's target boxes back on the reference actions (GUI actions only)."""
    if not boxes:
        return list(actions)
    out: list[Action] = []
    for k, action in enumerate(actions):
        box = _box(boxes[k]) if k < len(boxes) else None
        if box is not None and isinstance(action, GUI_ACTIONS):
            action = dataclasses.replace(action, box=box)
        out.append(action)
    return out


def _box(value: Any) -> Box | None:
    if value is None:
        return None
    try:
        return Box.from_list(value) if len(value) == 4 else None
    except (TypeError, ValueError):
        return None


class TrajectoryReward:
    """Stage-1 reward: `trajectory_rewards` of each parsed completion against its reference.

    A completion that does not parse cleanly scores with the actions that did parse
    (missing positions 0). A row whose *reference* does not parse is a data bug, not a
    model error: it scores None (trl ignores it) with a warning.
    """

    def __init__(
        self,
        *,
        gamma: float,
        lambda_align: float,
        lambda_rep: float,
        horizon: int | None = None,
    ):
        check_weights(gamma, lambda_align, lambda_rep)
        self.gamma, self.lambda_align, self.lambda_rep = gamma, lambda_align, lambda_rep
        self.horizon = horizon
        self.__name__ = "trajectory_reward"

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        reference: Sequence[str] = (),
        reference_boxes: Sequence[Any] | None = None,
        **_: Any,
    ) -> list[float | None]:
        if len(reference) != len(completions):  # a wiring bug, not model output: fail loudly
            raise ValueError(
                f"{self.__name__} needs the dataset column `reference` (one per completion); "
                f"got {len(reference)} for {len(completions)} completions"
            )
        boxes = reference_boxes if reference_boxes is not None else [None] * len(completions)
        refs: dict[tuple[str, str], list[Action] | None] = {}  # G completions share a reference
        rows: list[int] = []
        preds: list[tuple[Action, ...]] = []
        windows: list[list[Action]] = []
        for i, (completion, ref_text, row_boxes) in enumerate(
            zip(completions, reference, boxes, strict=True)
        ):
            key = (ref_text, repr(row_boxes))
            if key not in refs:
                refs[key] = self._reference(ref_text, row_boxes)
            window = refs[key]
            if window is None:
                continue
            rows.append(i)
            preds.append(parse_plan(completion_text(completion)).actions)
            windows.append(window)
        scores = trajectory_rewards(
            preds,
            windows,
            gamma=self.gamma,
            lambda_align=self.lambda_align,
            lambda_rep=self.lambda_rep,
            horizon=self.horizon,
        )
        out: list[float | None] = [None] * len(completions)
        for i, score in zip(rows, scores, strict=True):
            out[i] = score
        return out

    @staticmethod
    def _reference(text: Any, boxes: Any) -> list[Action] | None:
        parsed = parse_plan(text)
        if parsed.errors or not parsed.actions:
            problem = parsed.errors[0] if parsed.errors else "empty plan"
            warnings.warn(f"unparseable reference scored None: {problem}", stacklevel=3)
            return None
        return attach_boxes(parsed.actions, boxes)


class FormatReward:
    """`format_reward` of each completion (see `tracer1.rewards.plan_format` for the rule)."""

    def __init__(self, *, horizon: int):
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.horizon = horizon
        self.__name__ = "format_reward"

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **_: Any
    ) -> list[float | None]:
        return [format_reward(completion_text(c), self.horizon) for c in completions]
