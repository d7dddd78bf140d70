"""Offline step metrics: greedy forecasts from recorded expert states, first action vs expert.

The AndroidControl / GUI-Odyssey / Mind2Web protocol: at every step of a held-out
expert episode the planner forecasts from the *recorded* state (instruction,
observation, the expert's previous actions), and only its first action is
compared with the expert's action at that step:

* `action_type_accuracy` - same action type (verb);
* `argument_accuracy` - among same-type pairs, `similarity == 1` (a click inside
  the target box, the same tool with the same normalised arguments, the same text);
* `step_success_rate` - type *and* arguments right (over all steps);
* `parse_error_rate` - forecasts whose parse reported any error (a missing block,
  a bad line, a truncated plan), whether or not a first action survived.

Requests carry the full expert history; the planner's prompt shows the last K.

>>> from tracer1.actions import Answer
>>> score_step('<plan>\\nanswer(text="42")\\n</plan>', Answer("42.0"))
StepScore(type_ok=True, args_ok=True, parse_error=False)
>>> score_step("no plan", Answer("42"))
StepScore(type_ok=False, args_ok=False, parse_error=True)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

from tracer1.actions import Action, parse_plan
from tracer1.evaluation.metrics import rate
from tracer1.policy.base import Planner, PlanRequest
from tracer1.rewards.similarity import similarity
from tracer1.trajectory import Episode

DEFAULT_BATCH = 64
_EXACT = 1.0 - 1e-9  # similarity is a float: 1.0 up to rounding is an exact match


@dataclass(frozen=True)
class StepScore:
    type_ok: bool
    args_ok: bool
    """Same type and `similarity == 1` (False whenever the type is wrong)."""
    parse_error: bool


@dataclass(frozen=True)
class OfflineMetrics:
    action_type_accuracy: float
    argument_accuracy: float
    step_success_rate: float
    parse_error_rate: float
    steps: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def of(cls, scores: Sequence[StepScore]) -> OfflineMetrics:
        typed = sum(s.type_ok for s in scores)
        right = sum(s.args_ok for s in scores)
        return cls(
            action_type_accuracy=rate(typed, len(scores)),
            argument_accuracy=rate(right, typed),
            step_success_rate=rate(right, len(scores)),
            parse_error_rate=rate(sum(s.parse_error for s in scores), len(scores)),
            steps=len(scores),
        )


def matches(pred: Action | None, reference: Action) -> bool:
    """Same type and `similarity == 1`: the step-success criterion, shared with feedback."""
    return (pred is not None and type(pred) is type(reference)
            and similarity(pred, reference) >= _EXACT)


def score_step(forecast: str, reference: Action) -> StepScore:
    """Score a forecast's first action against the expert's action (pure)."""
    parsed = parse_plan(forecast)
    first = parsed.actions[0] if parsed.actions else None
    type_ok = first is not None and type(first) is type(reference)
    args_ok = matches(first, reference)
    return StepScore(type_ok, args_ok, bool(parsed.errors))


def step_requests(episodes: Sequence[Episode]) -> Iterator[tuple[PlanRequest, Action]]:
    """(request from the recorded state, the expert's action) for every step of every episode."""
    for episode in episodes:
        actions = tuple(step.action for step in episode.steps)
        for t, step in enumerate(episode.steps):
            yield PlanRequest(episode.instruction, step.observation, actions[:t]), step.action


def offline_metrics(
    planner: Planner, episodes: Sequence[Episode], *, batch_size: int = DEFAULT_BATCH
) -> OfflineMetrics:
    """Greedy first-action metrics of `planner` over every step of `episodes`, batched."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    pairs = list(step_requests(episodes))
    scores: list[StepScore] = []
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start : start + batch_size]
        outputs = planner.plan([request for request, _ in batch], sample=False, num=1)
        if len(outputs) != len(batch):
            raise ValueError(f"planner returned {len(outputs)} forecasts for {len(batch)} requests")
        scores += [score_step(out[0], ref) for out, (_, ref) in zip(outputs, batch, strict=True)]
    return OfflineMetrics.of(scores)


__all__ = [
    "OfflineMetrics",
    "StepScore",
    "matches",
    "offline_metrics",
    "score_step",
    "step_requests",
]
