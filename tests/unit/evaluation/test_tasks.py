"""split_tasks picks exactly the tasks build_dataset put in a split."""

from __future__ import annotations

import doctest

import pytest

import tracer1.evaluation.tasks as tasks_module
from tracer1.config import BuildDatasetConfig, SeedRange, SplitSeeds, SuiteConfig
from tracer1.data.build import build_dataset
from tracer1.data.jsonl import read_split_dir
from tracer1.evaluation.tasks import split_tasks

SEEDS = SplitSeeds(SeedRange(0, 12), SeedRange(12, 16), SeedRange(16, 20))
# kb_arithmetic seed 117 asks seed 9's question: build_dataset drops it from the test split.
CLASHING = SplitSeeds(SeedRange(9, 10), SeedRange(10, 12), SeedRange(117, 119))


@pytest.mark.parametrize("seeds", [SEEDS, CLASHING])
def test_the_same_tasks_as_the_built_dataset(tmp_path, seeds):
    cfg = BuildDatasetConfig(seeds=seeds)
    build_dataset(cfg, tmp_path / "traj", tmp_path / "m.json")
    splits = read_split_dir(tmp_path / "traj")
    for split, episodes in splits.items():
        chosen = split_tasks(cfg, split)["tooluse"]
        assert [t.task_id for t in chosen] == [e.episode_id for e in episodes]
    if seeds is CLASHING:
        test_ids = {t.task_id for t in split_tasks(cfg, "test")["tooluse"]}
        assert "tooluse/kb_arithmetic/d1/s117" not in test_ids
        assert "tooluse/kb_arithmetic/d2/s118" in test_ids


def test_cap_per_family_and_difficulty_round_robin():
    cfg = BuildDatasetConfig(seeds=SEEDS, suites={"tooluse": SuiteConfig(difficulties=(2, 3))})
    tasks = split_tasks(cfg, "train", episodes_per_family=3)["tooluse"]
    families = {t.family for t in tasks}
    assert all(sum(t.family == f for t in tasks) == 3 for f in families)
    assert all(t.difficulty == (2, 3)[t.seed % 2] for t in tasks)
    assert all(0 <= t.seed < 12 for t in tasks)


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split"):
        split_tasks(BuildDatasetConfig(), "holdout")


def test_docstring_examples():
    result = doctest.testmod(tasks_module)
    assert result.attempted > 0 and result.failed == 0
