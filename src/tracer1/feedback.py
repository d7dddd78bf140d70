"""`collect_feedback`: the Stage-1 planner closed-loop in the suites, with the expert's view.

Stage 2 trains on the states the planner *itself* visits (not the expert's), so
this stage runs the planner model-predictively (`tracer1.rollout`) and, at every
visited state, asks the scripted expert for its action and executes that action
from the same state in a scratch environment. One JSON record per visited state
goes to `{out_dir}/feedback.jsonl` (written atomically).

The record is the contract with the Stage-2 trainer: `tracer1.records.FeedbackRecord`.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracer1.config import CollectFeedbackConfig
from tracer1.envs.base import Suite, get_suite
from tracer1.evaluation.metrics import episode_stats, rate
from tracer1.evaluation.offline import matches
from tracer1.io import write_json, write_jsonl
from tracer1.policy.base import Planner
from tracer1.records import FeedbackRecord
from tracer1.rollout import EpisodeTrace, StateRecord, run_episodes
from tracer1.trajectory import Task

FEEDBACK_FILE = "feedback.jsonl"


def feedback_record(trace: EpisodeTrace, state: StateRecord,
                    screenshot: str | None = None) -> dict[str, Any]:
    """The contract record of one visited state (the state must carry the expert's reference),
    in its JSON form; `screenshot`, where the state's live screen was saved, goes into its
    observation."""
    if state.reference is None:
        raise ValueError("feedback states need the expert's reference: run with an expert")
    task, observation = trace.task, state.request.observation
    if screenshot is not None:
        observation = dataclasses.replace(observation, screenshot=screenshot)
    return FeedbackRecord(
        suite=task.suite,
        family=task.family,
        seed=task.seed,
        difficulty=task.difficulty,
        task_id=task.task_id,
        step=state.index,
        instruction=task.instruction,
        observation=observation,
        history=tuple(state.request.history),
        forecast=state.forecast,
        executed=state.executed,
        reference_action=state.reference,
        reference_executed=state.reference_executed,
        reference_answer=task.spec.get("answer"),
    ).to_json()


def agreement(states: Sequence[StateRecord]) -> dict[str, float]:
    """How often the planner's first action matches the expert's: same verb / exactly.

    An invalid forecast disagrees. "Exactly" is `similarity == 1`: a click inside the
    target box, the same tool with the same normalised arguments, the same text.
    """
    scored = [s for s in states if s.reference is not None]
    verb = sum(s.action is not None and type(s.action) is type(s.reference) for s in scored)
    exact = sum(matches(s.action, s.reference) for s in scored)
    return {
        "first_action_type_agreement": rate(verb, len(scored)),
        "first_action_agreement": rate(exact, len(scored)),
    }


def feedback_metrics(traces: Sequence[EpisodeTrace]) -> dict[str, Any]:
    """Metrics on the planner's own state distribution, overall and per `suite/family`."""

    def summary(group: Sequence[EpisodeTrace]) -> dict[str, Any]:
        states = [s for t in group for s in t.states]
        return {**episode_stats(group), **agreement(states)}

    by_family: dict[str, list[EpisodeTrace]] = defaultdict(list)
    for trace in traces:
        by_family[f"{trace.task.suite}/{trace.task.family}"].append(trace)
    return {
        **summary(traces),
        "families": {name: summary(group) for name, group in sorted(by_family.items())},
    }


def _suite(name: str, suites: Mapping[str, Suite] | None) -> Suite:
    return suites[name] if suites and name in suites else get_suite(name)


def collect_feedback(
    planner: Planner,
    suites_and_tasks: Mapping[str, Sequence[Task]],
    cfg: CollectFeedbackConfig,
    out_dir: str | os.PathLike,
    metrics_path: str | os.PathLike,
    *,
    suites: Mapping[str, Suite] | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Run `planner` on every task (suite name → tasks); write the feedback and its metrics.

    `cfg.episode_limit` bounds each episode and `cfg.sample` picks sampled or greedy
    forecasts; `out_dir` and `metrics_path` are passed resolved (the caller fills
    in the variant). `suites` supplies configured suite instances by name (default:
    `get_suite(name)`). Returns the metrics, also written to `metrics_path`.
    """
    traces: list[EpisodeTrace] = []
    for name, tasks in sorted(suites_and_tasks.items()):
        suite = _suite(name, suites)
        traces += run_episodes(planner, suite, tasks, max_steps=cfg.episode_limit,
                               sample=cfg.sample,
                               expert=suite.expert(), batch_size=batch_size,
                               progress=f"collect_feedback on {name}")
    records = (feedback_record(trace, state, _save_screenshot(out_dir, trace, state))
               for trace in traces for state in trace.states)
    written = write_jsonl(os.path.join(out_dir, FEEDBACK_FILE), records)
    metrics = {**feedback_metrics(traces), "records": written}
    write_json(metrics_path, metrics)
    return metrics


def _save_screenshot(out_dir: str | os.PathLike, trace: EpisodeTrace,
                     state: StateRecord) -> str | None:
    """Save the live screen a VLM planner saw (Stage 2 trains on it); its relative path."""
    if state.request.screenshot is None:
        return None
    from tracer1.data.build import screenshot_path

    relative = screenshot_path(trace.task.task_id, state.index)
    path = Path(out_dir) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(state.request.screenshot)
    return relative


__all__ = [
    "FEEDBACK_FILE",
    "agreement",
    "collect_feedback",
    "feedback_metrics",
    "feedback_record",
]
