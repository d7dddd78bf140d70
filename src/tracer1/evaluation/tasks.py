"""Which tasks a split runs: the seeds `build_dataset` put in that split, capped per family.

`collect_feedback` (train split) and `evaluate` (test split) run planners on live
tasks rather than on recorded episodes, and must pick exactly the tasks the
dataset assigned to their split: the same seed ranges, difficulties and suite
caps, and without the questions `build_dataset` dropped because an earlier split
already asked them (otherwise a test question could be one the planner trained on).
`evaluate` reads them from the split file itself (`split_file_tasks`: each recorded
episode's task, re-made from its suite, family, seed and difficulty), so it runs what the
dataset holds; `collect_feedback` computes them with `data.build.iter_tasks`, the
function that planned the dataset (`split_tasks`), so the two can never disagree.

Imported suites (`build_dataset.imports`) have no live environment and no task
generator: `split_tasks` never yields them, so the closed-loop stages (feedback
collection, Stage 2, the closed loop of `evaluate`) skip them by construction, and
`offline_episodes` picks their recorded held-out episodes for offline scoring.

>>> from tracer1.config import BuildDatasetConfig, SeedRange, SplitSeeds
>>> cfg = BuildDatasetConfig(seeds=SplitSeeds(SeedRange(0, 4), SeedRange(4, 6), SeedRange(6, 9)))
>>> tasks = split_tasks(cfg, "test", episodes_per_family=2)["tooluse"]
>>> sorted({t.seed for t in tasks}) in ([6, 7], [6, 8], [7, 8], [6, 7, 8])
True
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

from tracer1.config import BuildDatasetConfig
from tracer1.data.build import iter_tasks
from tracer1.data.jsonl import read_episodes
from tracer1.envs.base import Suite, make_suites
from tracer1.trajectory import Episode, Task


def _check_split(build: BuildDatasetConfig, split: str) -> None:
    names = [name for name, _ in build.seeds.items()]
    if split not in names:
        raise ValueError(f"unknown split {split!r} (known: {', '.join(names)})")


def split_tasks(
    build: BuildDatasetConfig, split: str, episodes_per_family: int | None = None,
    suites: dict[str, Suite] | None = None,
) -> dict[str, list[Task]]:
    """suite name → the split's tasks, at most `episodes_per_family` per family, seed order.

    `suites` (from `envs.base.make_suites`) are the ones the caller will run the tasks in;
    without them the tasks are made in suites built here.
    """
    _check_split(build, split)
    chosen: dict[str, list[Task]] = defaultdict(list)
    per_family: dict[tuple[str, str], int] = defaultdict(int)
    for job, task in iter_tasks(build, suites=suites, split=split):
        if job.split != split:
            continue
        key = (job.suite, job.family)
        if episodes_per_family is not None and per_family[key] >= episodes_per_family:
            continue
        per_family[key] += 1
        chosen[job.suite].append(task)
    return {name: chosen[name] for name in sorted(build.suites)}


def split_file_tasks(
    build: BuildDatasetConfig, split: str, path: str | os.PathLike,
    episodes_per_family: int | None = None, suites: dict[str, Suite] | None = None,
) -> dict[str, list[Task]]:
    """`split_tasks`, read from the split file `build_dataset` wrote at `path`
    (`Layout.split_file(split)`; `recorded_tasks`)."""
    _check_split(build, split)
    suites = suites or make_suites(build.suites)
    chosen = {name: suites[name] for name in sorted(build.suites)}
    return recorded_tasks(read_episodes(path), chosen, episodes_per_family)


def recorded_tasks(
    episodes: Iterable[Episode], suites: dict[str, Suite], episodes_per_family: int | None = None
) -> dict[str, list[Task]]:
    """suite name → the tasks of its `episodes`, at most `episodes_per_family` per family, in
    file order (seed order within a family); episodes of other suites (imported) are skipped.

    A task is re-made by its suite from the episode's family, seed and difficulty: the live
    environment needs the suite-private `spec` (answers, page state) the file does not hold.
    """
    chosen: dict[str, list[Task]] = {name: [] for name in suites}
    per_family: dict[tuple[str, str], int] = defaultdict(int)
    for episode in episodes:
        key = (episode.suite, episode.family)
        if episode.suite not in suites or (
                episodes_per_family is not None and per_family[key] >= episodes_per_family):
            continue
        per_family[key] += 1
        task = suites[episode.suite].make_task(episode.family, episode.seed, episode.difficulty)
        if task.task_id != episode.episode_id:  # the suite no longer makes the recorded task
            raise ValueError(f"{episode.episode_id}: {episode.suite} makes {task.task_id!r} from "
                             f"family {episode.family}, seed {episode.seed}, difficulty "
                             f"{episode.difficulty}; rebuild the dataset")
        chosen[episode.suite].append(task)
    return chosen


def offline_episodes(
    build: BuildDatasetConfig, episodes: Iterable[Episode], per_family: int | None = None
) -> dict[str, list[Episode]]:
    """Imported suite → its episodes among `episodes` (a split file's), at most `per_family`
    per family, the first by seed (an imported seed is a stable hash of the episode id).

    >>> from tracer1.config import ImportSourceConfig
    >>> cfg = BuildDatasetConfig(imports={"q": ImportSourceConfig(format="gaia", path="x")})
    >>> eps = [Episode(f"{s}/e{i}", s, "f", 9 - i, "test", "q", (), True)
    ...        for s in ("gaia", "tooluse") for i in range(3)]
    >>> [e.seed for e in offline_episodes(cfg, eps, per_family=2)["gaia"]]
    [7, 8]
    """
    imported = set(build.offline_suites())
    by_family: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for episode in episodes:
        if episode.suite in imported:
            by_family[(episode.suite, episode.family)].append(episode)
    chosen: dict[str, list[Episode]] = {suite: [] for suite in sorted(imported)}
    for (suite, _), group in sorted(by_family.items()):
        ordered = sorted(group, key=lambda e: (e.seed, e.episode_id))
        chosen[suite] += ordered if per_family is None else ordered[:per_family]
    return {suite: eps for suite, eps in chosen.items() if eps}


__all__ = ["offline_episodes", "recorded_tasks", "split_file_tasks", "split_tasks"]
