"""Shared MiniWoB fixtures: one suite (one browser pool) per test module, always shut down."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from tracer1.data.build import expert_episode
from tracer1.envs.miniwob_suite import MiniWoBSuite
from tracer1.trajectory import Step, Task


@pytest.fixture(scope="module")
def miniwob_suite() -> Iterator[MiniWoBSuite]:
    suite = MiniWoBSuite(workers=1)
    try:
        yield suite
    finally:
        suite.close()


def run_expert(suite: MiniWoBSuite, task: Task, max_steps: int = 30) -> tuple[bool, list[Step]]:
    """The expert's episode on `task` (the one `build_dataset` records): (success, steps)."""
    episode = expert_episode(suite, task, "test", max_steps)
    return episode.success, list(episode.steps)


def success_rate(suite: MiniWoBSuite, family: str, seeds: Sequence[int]) -> float:
    wins = sum(run_expert(suite, suite.make_task(family, seed))[0] for seed in seeds)
    return wins / len(seeds)
