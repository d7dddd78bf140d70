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

The same first actions are also scored under the public benchmarks' own rules
(`tracer1.data.importers.conventions`), so numbers on imported datasets compare
with published ones: `convention_metrics` applies the groups `SUITE_CONVENTIONS`
names for a suite (`CONVENTION_GROUPS`, a registry: a new group is one entry):

* ``step`` (every suite) - action-type accuracy, grounding accuracy (a click inside
  the box or within 14% of the screen of the reference point), step success rate;
* ``tool`` (GTA, tool use) - tool-name and argument accuracy over the tool steps;
* ``answer_exact`` (GAIA) - GAIA's quasi-exact match of the answer;
* ``answer_phrases`` (GTA) - GTA's whitelist / blacklist check of the answer.

>>> from tracer1.actions import Answer
>>> score_step('<plan>\\nanswer(text="42")\\n</plan>', Answer("42.0"))
StepScore(type_ok=True, args_ok=True, parse_error=False)
>>> score_step("no plan", Answer("42"))
StepScore(type_ok=False, args_ok=False, parse_error=True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from tracer1.actions import Action, Answer, parse_plan
from tracer1.evaluation.metrics import rate
from tracer1.evaluation.report import CONVENTION_COUNT_KEYS
from tracer1.policy.base import Planner, PlanRequest
from tracer1.progress import reporter
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


@dataclass(frozen=True)
class Prediction:
    """The planner's greedy forecast at one recorded step, and what that step's expert did."""

    episode: Episode
    step: int
    forecast: str

    @property
    def reference(self) -> Action:
        return self.episode.steps[self.step].action

    @cached_property  # read by every convention group: parse once
    def first(self) -> Action | None:
        """The forecast's first action (None when no action parsed)."""
        actions = parse_plan(self.forecast).actions
        return actions[0] if actions else None


def scored(episodes: Sequence[Episode]) -> list[Episode]:
    """The episodes whose reference can be scored: an imported episode whose source
    withholds it (GAIA's test answers, `meta.scored: false`) has nothing to match."""
    return [episode for episode in episodes if episode.meta.get("scored", True) is not False]


def predict_steps(
    planner: Planner, episodes: Sequence[Episode], *, batch_size: int = DEFAULT_BATCH,
    progress: str | None = None,
) -> list[Prediction]:
    """One greedy forecast of `planner` per step of the scorable `episodes`, batched;
    `progress`: a label to report the steps forecast under (`tracer1.progress`, per batch;
    None: quiet)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    episodes = scored(episodes)
    where = [(episode, t) for episode in episodes for t in range(len(episode.steps))]
    requests = [request for request, _ in step_requests(episodes)]
    report = reporter(progress, len(requests))
    forecasts: list[str] = []
    for start in range(0, len(requests), batch_size):
        batch = requests[start : start + batch_size]
        outputs = planner.plan(batch, sample=False, num=1)
        if len(outputs) != len(batch):
            raise ValueError(f"planner returned {len(outputs)} forecasts for {len(batch)} requests")
        forecasts += [out[0] for out in outputs]
        report(len(forecasts))
    return [Prediction(ep, t, text) for (ep, t), text in zip(where, forecasts, strict=True)]


def offline_metrics(
    planner: Planner, episodes: Sequence[Episode], *, batch_size: int = DEFAULT_BATCH
) -> OfflineMetrics:
    """Greedy first-action metrics of `planner` over every step of `episodes`, batched."""
    return metrics_of(predict_steps(planner, episodes, batch_size=batch_size))


def metrics_of(predictions: Sequence[Prediction]) -> OfflineMetrics:
    """The step metrics of already-made predictions (pure)."""
    return OfflineMetrics.of([score_step(p.forecast, p.reference) for p in predictions])


# ------------------------------------------------------------------ benchmark conventions

ConventionGroup = Callable[[Sequence[Prediction]], dict[str, float | int]]
"""Predictions -> named rates plus their denominators (`CONVENTION_COUNT_KEYS`); pure."""


def _pairs(predictions: Sequence[Prediction]) -> list[tuple[Action | None, Action]]:
    return [(p.first, p.reference) for p in predictions]


def _answer_rate(predictions: Sequence[Prediction],
                 check: Callable[[str, Prediction], bool | None]) -> dict[str, float | int]:
    """Share of the answer steps whose predicted answer passes `check` (None: not scored)."""
    outcomes = []
    for p in predictions:
        if not isinstance(p.reference, Answer):
            continue
        said = p.first.text if isinstance(p.first, Answer) else None
        verdict = check(said or "", p)
        if verdict is not None:  # None: the reference has nothing to check against
            outcomes.append(said is not None and verdict)
    return {"accuracy": rate(sum(outcomes), len(outcomes)), "answers": len(outcomes)}


def _step_group(predictions: Sequence[Prediction]) -> dict[str, float | int]:
    from tracer1.data.importers.conventions import step_metrics

    return step_metrics(_pairs(predictions)).to_dict()


def _tool_group(predictions: Sequence[Prediction]) -> dict[str, float | int]:
    from tracer1.data.importers.conventions import tool_accuracy

    return tool_accuracy(_pairs(predictions)).to_dict()


def _answer_exact_group(predictions: Sequence[Prediction]) -> dict[str, float | int]:
    from tracer1.data.importers.conventions import gaia_answers_match

    return _answer_rate(predictions, lambda text, p: gaia_answers_match(text, p.reference.text))


def _answer_phrases_group(predictions: Sequence[Prediction]) -> dict[str, float | int]:
    from tracer1.data.importers.conventions import gta_answer_matches

    # GTA's image-generation queries carry no gt_answer: nothing to check, not a miss.
    return _answer_rate(predictions,
                        lambda text, p: gta_answer_matches(text, p.episode.meta.get("gt_answer")))


CONVENTION_GROUPS: dict[str, ConventionGroup] = {
    "step": _step_group,
    "tool": _tool_group,
    "answer_exact": _answer_exact_group,
    "answer_phrases": _answer_phrases_group,
}
SUITE_CONVENTIONS: Mapping[str, tuple[str, ...]] = {
    "gaia": ("step", "answer_exact"),
    "gta": ("step", "tool", "answer_phrases"),
    "tooluse": ("step", "tool"),
}
DEFAULT_CONVENTIONS = ("step",)
"""The groups of a suite `SUITE_CONVENTIONS` does not name (the GUI datasets, MiniWoB)."""


def convention_metrics(suite: str, predictions: Sequence[Prediction]) -> dict[str, Any]:
    """group -> metrics for `suite`'s benchmark conventions, rates rounded like the report.

    >>> from tracer1.trajectory import Episode, Observation, Step
    >>> ep = Episode("gaia/q", "gaia", "level1", 1, "test", "Capital?",
    ...              (Step(0, Observation(""), Answer("Paris")),), True)
    >>> from tracer1.actions import format_plan
    >>> metrics = convention_metrics("gaia", [Prediction(ep, 0, format_plan([Answer("paris")]))])
    >>> metrics["answer_exact"], metrics["step"]["step_success_rate"]
    ({'accuracy': 1.0, 'answers': 1}, 1.0)
    """
    groups = SUITE_CONVENTIONS.get(suite, DEFAULT_CONVENTIONS)
    return {
        group: {k: v if k in CONVENTION_COUNT_KEYS else round(float(v), 6)
                for k, v in CONVENTION_GROUPS[group](predictions).items()}
        for group in groups
    }


__all__ = [
    "CONVENTION_GROUPS",
    "DEFAULT_CONVENTIONS",
    "SUITE_CONVENTIONS",
    "ConventionGroup",
    "OfflineMetrics",
    "Prediction",
    "StepScore",
    "convention_metrics",
    "matches",
    "metrics_of",
    "offline_metrics",
    "predict_steps",
    "scored",
    "score_step",
    "step_requests",
]
