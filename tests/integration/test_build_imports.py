"""`build_dataset` mixing suites and imported datasets into one directory that the real
`validate_dataset` (Great Expectations) accepts; a bad source fails the build whole."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from tests.helpers import REPO
from tracer1.config import (
    BuildDatasetConfig,
    ImportSourceConfig,
    SeedRange,
    SplitSeeds,
    SuiteConfig,
    ValidateDatasetConfig,
)
from tracer1.data.build import build_dataset
from tracer1.data.jsonl import read_episodes
from tracer1.data.validation import format_summary, validate_dataset

pytestmark = pytest.mark.integration

FIXTURES = REPO / "data" / "fixtures" / "importers"
SPLITS = ("train", "val", "test")


def mixed_cfg(tmp_path, **imports: ImportSourceConfig) -> BuildDatasetConfig:
    return BuildDatasetConfig(
        suites={"tooluse": SuiteConfig(episodes_per_family=2)},
        seeds=SplitSeeds(SeedRange(0, 3), SeedRange(3, 5), SeedRange(5, 7)),
        imports=imports or {
            "odyssey": ImportSourceConfig(format="gui_odyssey", path=str(FIXTURES / "gui_odyssey"),
                                          options={"split_file": "random_split"}),
            "gaia": ImportSourceConfig(format="gaia", path=str(FIXTURES / "gaia")),
        },
    )


def build(cfg: BuildDatasetConfig, tmp_path) -> dict:
    """`build_dataset` into `tmp_path`: trajectories/ and build.json."""
    return build_dataset(cfg, str(tmp_path / "trajectories"), str(tmp_path / "build.json"))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    cfg = mixed_cfg(tmp)
    return cfg, build(cfg, tmp), tmp


def test_a_mixed_build_passes_the_real_validation(mixed):
    cfg, _, tmp = mixed
    report = validate_dataset(ValidateDatasetConfig(), tmp / "trajectories", tmp / "validation")
    assert report.success, format_summary(report)


def test_every_split_holds_suite_and_imported_episodes_and_their_files(mixed):
    _, metrics, tmp = mixed
    out = tmp / "trajectories"
    for split in SPLITS:
        suites = {e.suite for e in read_episodes(out / f"{split}.jsonl")}
        assert suites == {"tooluse", "gui_odyssey", "gaia"}, (split, suites)
    shots = sorted((out / "screenshots" / "gui_odyssey").rglob("*.png"))
    steps = sum(len(e.steps) for s in SPLITS for e in read_episodes(out / f"{s}.jsonl")
                if e.suite == "gui_odyssey")
    assert len(shots) == steps == metrics["imports"]["odyssey"]["files_copied"]
    assert list((out / "attachments" / "gaia").rglob("*.txt"))
    assert not (out / ".imports").exists()  # the scratch folder never ships


def test_metrics_report_each_import_under_its_name(mixed):
    _, metrics, tmp = mixed
    assert set(metrics["imports"]) == {"odyssey", "gaia"}
    gaia = metrics["imports"]["gaia"]
    assert (gaia["format"], gaia["skipped"], gaia["out_dir"]) == (
        "gaia", 0, str(tmp / "trajectories"))
    # The withheld-answer test question stays in test (meta.scored false), never in train.
    assert gaia["kept"] == {"train": 1, "val": 1, "test": 2}
    on_disk = json.loads((tmp / "build.json").read_text())
    assert on_disk["imports"] == metrics["imports"]
    # Split sizes count everything written; expert success only the experts' episodes.
    assert metrics["splits"]["test"]["episodes"] == 1 + 2 + len(
        [e for e in read_episodes(tmp / "trajectories" / "test.jsonl") if e.suite == "tooluse"])
    assert all(name.startswith("tooluse/") for name in metrics["families"])


def test_weight_and_cap_subsample_an_import(tmp_path):
    cfg = mixed_cfg(tmp_path, gta=ImportSourceConfig(
        format="gta", path=str(FIXTURES / "gta"), use_dataset_split=False,
        fractions={"train": 1.0}, max_episodes=2))
    gta = build(dataclasses.replace(cfg, suites={}), tmp_path)["imports"]["gta"]
    assert gta["episodes"]["train"] == 3 and gta["kept"]["train"] == 2
    assert gta["dropped_by_subsample"] == {"weight": 0, "max_episodes": 1}
    kept = {e.episode_id for e in read_episodes(tmp_path / "trajectories" / "train.jsonl")}
    attached = {f"gta/{p.name}" for p in (tmp_path / "trajectories" / "attachments" / "gta")
                .iterdir()}
    assert len(kept) == 2 and attached <= kept  # a dropped episode's files are not moved in


def test_a_malformed_source_fails_the_build_naming_import_and_record(tmp_path):
    src = tmp_path / "gui_odyssey"
    shutil.copytree(FIXTURES / "gui_odyssey", src)
    eid = "4106281093557721"
    annotation = src / "annotations" / f"{eid}.json"
    record = json.loads(annotation.read_text())
    record["steps"][0]["info"] = [[120]]
    annotation.write_text(json.dumps(record))
    cfg = mixed_cfg(tmp_path, odyssey=ImportSourceConfig(
        format="gui_odyssey", path=str(src), options={"split_file": "random_split"}))
    with pytest.raises(ValueError) as info:
        build(cfg, tmp_path)
    message = str(info.value)
    assert message.startswith("build_dataset.imports.odyssey (gui_odyssey from ")
    assert f"annotations/{eid}.json:{eid}: steps[0].info: expected [[x, y]]" in message
    assert not (tmp_path / "trajectories").exists()
    lenient = dataclasses.replace(cfg, imports={"odyssey": dataclasses.replace(
        cfg.imports["odyssey"], strict=False)})
    assert build(lenient, tmp_path)["imports"]["odyssey"]["skipped"] == 1


def test_the_same_episodes_imported_twice_are_refused(tmp_path):
    twice = {name: ImportSourceConfig(format="gaia", path=str(FIXTURES / "gaia"))
             for name in ("a", "b")}
    with pytest.raises(ValueError, match="build_dataset.imports.b .*also imported by "
                                         "build_dataset.imports.a"):
        build(mixed_cfg(tmp_path, **twice), tmp_path)
    assert not (tmp_path / "trajectories").exists()
