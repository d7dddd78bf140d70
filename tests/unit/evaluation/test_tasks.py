"""split_tasks picks exactly the tasks build_dataset put in a split; split_file_tasks reads them."""

from __future__ import annotations

import dataclasses
import doctest

import pytest

import tracer1.evaluation.tasks as tasks_module
from tests.conftest import SMALL_PARAMS
from tracer1.config import BuildDatasetConfig, SeedRange, SplitSeeds, SuiteConfig, load_params
from tracer1.data.build import build_dataset
from tracer1.data.jsonl import read_split_dir
from tracer1.envs.base import make_suites
from tracer1.evaluation.tasks import recorded_tasks, split_file_tasks, split_tasks

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


def tiny_build(tmp_path, **changes) -> BuildDatasetConfig:
    """The committed tiny run's `build_dataset` (tests/conftest.py SMALL_PARAMS), tool use only
    (a MiniWoB task costs a browser page), written under `tmp_path`."""
    (tmp_path / "params.yaml").write_text(SMALL_PARAMS)
    build = load_params(tmp_path / "params.yaml").build_dataset
    return dataclasses.replace(build, suites={"tooluse": build.suites["tooluse"]}, **changes)


@pytest.mark.parametrize("seeds", [None, CLASHING])
@pytest.mark.parametrize("per_family", [None, 1])
def test_the_split_file_holds_the_computed_tasks(tmp_path, seeds, per_family):
    """Evaluation reads its tasks from the split file: the same tasks, in the same order,
    as computing them from the config did (specs included: the live run needs them)."""
    build = tiny_build(tmp_path, **({"seeds": seeds} if seeds else {}))
    build_dataset(build, tmp_path / "traj", tmp_path / "m.json")
    for split, _ in build.seeds.items():
        computed = split_tasks(build, split, per_family)
        read = split_file_tasks(build, split, tmp_path / "traj" / f"{split}.jsonl", per_family)
        assert read == computed and list(read) == ["tooluse"]
        assert [t.spec for t in read["tooluse"]] == [t.spec for t in computed["tooluse"]]
        assert read["tooluse"], split


def test_recorded_tasks_skip_imported_suites_and_refuse_a_stale_file(tmp_path):
    build = tiny_build(tmp_path)
    build_dataset(build, tmp_path / "traj", tmp_path / "m.json")
    episodes = read_split_dir(tmp_path / "traj")["test"]
    suites = make_suites(build.suites)
    foreign = dataclasses.replace(episodes[0], suite="gaia")
    assert recorded_tasks([foreign, *episodes], suites) == split_tasks(build, "test")
    stale = dataclasses.replace(episodes[0], seed=episodes[0].seed + 1)
    with pytest.raises(ValueError, match="rebuild the dataset"):
        recorded_tasks([stale], suites)
    with pytest.raises(ValueError, match="unknown split"):
        split_file_tasks(build, "holdout", tmp_path / "traj" / "test.jsonl")
