import dataclasses

import pytest

from tracer1.config import BuildDatasetConfig, SeedRange, SplitSeeds, SuiteConfig
from tracer1.data.build import build_dataset
from tracer1.data.jsonl import read_episodes

pytestmark = pytest.mark.integration


def small_cfg(tmp_path, name="a"):
    return BuildDatasetConfig(
        suites={"tooluse": SuiteConfig()},
        seeds=SplitSeeds(SeedRange(0, 5), SeedRange(5, 7), SeedRange(7, 9)),
    )


def outputs(tmp_path, name="a"):
    """Where a test build writes: (trajectories, metrics file)."""
    return tmp_path / name / "trajectories", tmp_path / name / "metrics.json"


def test_deterministic_and_split_by_seed(tmp_path):
    a = small_cfg(tmp_path, "a")
    b = small_cfg(tmp_path, "b")
    metrics = build_dataset(a, *outputs(tmp_path, "a"))
    build_dataset(b, *outputs(tmp_path, "b"))
    for split in ("train", "val", "test"):
        fa = tmp_path / "a" / "trajectories" / f"{split}.jsonl"
        fb = tmp_path / "b" / "trajectories" / f"{split}.jsonl"
        assert fa.read_bytes() == fb.read_bytes() and fa.stat().st_size > 0
    seeds = {
        split: {e.seed for e in read_episodes(tmp_path / "a" / "trajectories" / f"{split}.jsonl")}
        for split in ("train", "val", "test")
    }
    assert seeds["train"] == set(range(5)) and seeds["val"] == {5, 6} and seeds["test"] == {7, 8}
    assert metrics["expert_success_rate"] == 1.0
    assert all(f["expert_success_rate"] == 1.0 for f in metrics["families"].values())


def test_unknown_family_is_a_clear_error(tmp_path):
    cfg = dataclasses.replace(
        small_cfg(tmp_path), suites={"tooluse": SuiteConfig(families=("nope",))}
    )
    with pytest.raises(ValueError, match="unknown"):
        build_dataset(cfg, *outputs(tmp_path))
    assert not (tmp_path / "a" / "trajectories").exists()


def test_a_browser_build_is_bit_reproducible(tmp_path):
    # book-flight's autocomplete and datepicker answer on timers and animations, and a
    # click-tab-2 capture could race its layout: built twice, every file (episodes and
    # screenshots) must have the same bytes, or dvc.lock changes on every fresh run.
    def cfg(name):
        return dataclasses.replace(
            small_cfg(tmp_path, name),
            suites={"miniwob": SuiteConfig(families=("book-flight", "click-tab-2"),
                                           episodes_per_family=1,
                                           options={"workers": 1})},
            seeds=SplitSeeds(SeedRange(0, 2), SeedRange(200, 201), SeedRange(230, 231)),
        )

    built = []
    for name in ("a", "b"):
        metrics = build_dataset(cfg(name), *outputs(tmp_path, name))
        assert metrics["expert_success_rate"] == 1.0  # settling breaks nothing
        root = tmp_path / name / "trajectories"
        built.append({p.relative_to(root): p.read_bytes()
                      for p in sorted(root.rglob("*")) if p.is_file()})
    assert built[0].keys() == built[1].keys()
    assert any(p.suffix == ".png" for p in built[0])
    differing = [str(p) for p in built[0] if built[0][p] != built[1][p]]
    assert not differing
