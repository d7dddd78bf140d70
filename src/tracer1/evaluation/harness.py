"""The benchmark harness: every policy, closed-loop and offline, on the *same* tasks.

`evaluate_planners` runs each planner model-predictively (forecast T, execute
the first action, re-forecast; greedy) on every suite's tasks and scores its
first actions offline on held-out expert episodes, then assembles the eval
report (`tracer1.evaluation.report`). It writes nothing; the `evaluate` stage
passes the result to `write_report`.

Success intervals are Wilson score intervals; policies are compared paired on the
same tasks (`report`'s `paired` section, Newcombe's paired interval), on every task
and on the long-horizon ones: a suite's tasks of the highest difficulty evaluated
(tool use: difficulty 3, 4-6 tool calls; MiniWoB: 3, book-flight), where
anticipation should pay off. A policy the caller could not score (e.g. ``base``
without a pretrained base model) is named in the report's `notes`.

Imported suites (`offline_only`: public datasets, no live environment) are scored
offline only, on their recorded held-out episodes, under the benchmark's own
conventions (`offline.convention_metrics`); every suite's offline section carries
those conventions too, from the same greedy forecasts.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tracer1.config import EvaluateConfig
from tracer1.envs.base import Suite, get_suite
from tracer1.evaluation.metrics import episode_stats
from tracer1.evaluation.offline import (
    OfflineMetrics,
    Prediction,
    convention_metrics,
    metrics_of,
    predict_steps,
)
from tracer1.evaluation.report import (
    CONVENTIONS,
    build_report,
    long_horizon_section,
    offline_only_section,
    scored_section,
)
from tracer1.policy.base import Planner
from tracer1.rollout import EpisodeTrace, run_episodes
from tracer1.trajectory import Episode, Task

logger = logging.getLogger(__name__)

DEFAULT_ROLES = {"candidate": "stage2", "baseline": "reactive", "champion": "champion"}
"""Policy names per gate role; a role whose policy was not evaluated becomes null."""


def suite_section(
    traces: Sequence[EpisodeTrace],
    offline: OfflineMetrics,
    *,
    confidence: float,
    samples: int | None = None,
    seed: int | None = None,
    conventions: Mapping[str, Mapping[str, float | int]] | None = None,
) -> dict[str, Any]:
    """One policy's report section for one suite (see the schema in `report`);
    `conventions` (group → metrics) goes under `offline` when given. Intervals are Wilson
    score intervals at `confidence` (`samples` and `seed` are unused: no resampling)."""
    ids = [t.task.task_id for t in traces]
    if len(set(ids)) != len(ids):
        raise ValueError("task ids repeat within a suite: per-task outcomes would collide")
    stats = episode_stats(traces)
    boot = {"confidence": confidence}
    by_family: dict[str, list[float]] = defaultdict(list)
    for trace in traces:
        by_family[trace.task.family].append(float(trace.success))
    hardest = max((t.task.difficulty for t in traces), default=0)
    long_horizon = {t.task.task_id: int(t.success) for t in traces
                    if t.task.difficulty == hardest}
    section = {
        **scored_section([float(t.success) for t in traces], **boot),
        "mean_steps": round(stats["mean_steps"], 6),
        "repetition_rate": round(stats["repetition_rate"], 6),
        "invalid_action_rate": round(stats["invalid_action_rate"], 6),
        "per_task": {t.task.task_id: int(t.success) for t in traces},
        "families": {f: scored_section(v, **boot) for f, v in sorted(by_family.items())},
        "long_horizon": long_horizon_section(long_horizon, hardest, **boot),
        "offline": {k: round(v, 6) for k, v in offline.to_dict().items()},
    }
    if conventions:
        section["offline"][CONVENTIONS] = dict(conventions)
    return section


def _offline(suite: str, predictions: Sequence[Prediction]) -> tuple[OfflineMetrics, dict]:
    """Step metrics and the suite's benchmark conventions of the same predictions."""
    conventions = convention_metrics(suite, predictions) if predictions else {}
    return metrics_of(predictions), conventions


def offline_section(suite: str, episodes: Sequence[Episode],
                    predictions: Sequence[Prediction]) -> dict[str, Any]:
    """One policy's `offline_only` section for an imported suite."""
    offline, conventions = _offline(suite, predictions)
    rounded = {k: round(v, 6) for k, v in offline.to_dict().items()}
    return offline_only_section(len(episodes), rounded, conventions)


def group_by_suite(
    episodes: Iterable[Episode], task_ids: Iterable[str] | None = None,
    per_family: int | None = None,
) -> dict[str, list[Episode]]:
    """Held-out episodes by suite (what `evaluate_planners` takes), optionally only `task_ids`
    and at most the first `per_family` of each family.

    >>> from tracer1.trajectory import Episode
    >>> eps = [Episode(f"tooluse/f/d1/s{i}", "tooluse", "f", i, "test", "q", (), True)
    ...        for i in range(3)]
    >>> {k: len(v) for k, v in group_by_suite(eps, ["tooluse/f/d1/s0"]).items()}
    {'tooluse': 1}
    """
    keep = None if task_ids is None else set(task_ids)
    out: dict[str, list[Episode]] = defaultdict(list)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for episode in episodes:
        if keep is not None and episode.episode_id not in keep:
            continue
        family = (episode.suite, episode.family)
        if per_family is not None and seen[family] >= per_family:
            continue
        seen[family] += 1
        out[episode.suite].append(episode)
    return dict(out)


def default_roles(names: Sequence[str]) -> dict[str, str | None]:
    return {role: (name if name in names else None) for role, name in DEFAULT_ROLES.items()}


def evaluate_planners(
    planners: Mapping[str, Planner],
    suites_tasks: Mapping[str, Sequence[Task]],
    heldout_episodes: Mapping[str, Sequence[Episode]],
    cfg: EvaluateConfig,
    *,
    roles: Mapping[str, str | None] | None = None,
    suites: Mapping[str, Suite] | None = None,
    batch_size: int | None = None,
    offline_only: Mapping[str, Sequence[Episode]] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Score every planner on the same tasks (suite name → tasks); return the report dict.

    Closed loop: greedy, `cfg.episode_limit` steps per episode; Wilson score intervals and
    Newcombe paired differences at `cfg.confidence` (`cfg.bootstrap_samples` and
    `cfg.seed` no longer enter the report: nothing is resampled).
    Offline: `heldout_episodes[suite]` (expert episodes of `cfg.split`); a suite
    without any reports `offline.steps == 0`. `roles` maps gate roles to planner
    names (default `DEFAULT_ROLES`, where evaluated), plus optionally
    `champion_version`, the registry version the champion policy is, for the gate;
    `suites` supplies configured suite instances by name. `offline_only` (suite name →
    held-out episodes) are imported suites: no environment is made for them; every
    planner is scored offline on those episodes (`report`'s `offline_only` sections).
    `notes` go into the report as they are (e.g. why a requested policy is missing).
    """
    imported = dict(offline_only or {})
    both = sorted(set(imported) & set(suites_tasks))
    if both:
        raise ValueError(f"suites {both} are both closed-loop and offline-only")
    boot = {"confidence": cfg.confidence}
    resolved = {name: (suites or {}).get(name) or get_suite(name) for name in suites_tasks}
    policies: dict[str, dict[str, Any]] = {}
    offline_sections: dict[str, dict[str, Any]] = {}
    for name, planner in planners.items():
        sections = {}
        for suite_name, tasks in sorted(suites_tasks.items()):
            start = time.monotonic()
            traces = run_episodes(planner, resolved[suite_name], tasks, max_steps=cfg.episode_limit,
                                  sample=False, batch_size=batch_size,
                                  stop_after_invalid=cfg.stop_after_invalid,
                                  progress=f"evaluate {name} on {suite_name}")
            predictions = predict_steps(planner, heldout_episodes.get(suite_name, ()),
                                        progress=f"evaluate {name} offline on {suite_name}")
            logger.info("evaluate %s on %s: %d/%d solved, %d planner steps, %d offline steps, "
                        "%.0f s", name, suite_name, sum(t.success for t in traces), len(traces),
                        sum(t.steps for t in traces), len(predictions),
                        time.monotonic() - start)
            offline, conventions = _offline(suite_name, predictions)
            sections[suite_name] = suite_section(traces, offline, **boot, conventions=conventions)
        policies[name] = sections
        offline_sections[name] = {
            suite_name: offline_section(suite_name, episodes, predict_steps(
                planner, episodes, progress=f"evaluate {name} offline on {suite_name}"))
            for suite_name, episodes in sorted(imported.items()) if episodes
        }
    chosen = default_roles(list(planners)) if roles is None else dict(roles)
    return build_report(policies, split=cfg.split, confidence=cfg.confidence, roles=chosen,
                        offline_only=offline_sections, notes=notes)


__all__ = [
    "DEFAULT_ROLES",
    "default_roles",
    "evaluate_planners",
    "group_by_suite",
    "offline_section",
    "suite_section",
]
