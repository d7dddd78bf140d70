"""Every importer fixture -> our schema -> the real `validate_dataset` (Great Expectations).

The six formats' current-layout fixtures are merged into one trajectory directory
(episode ids, screenshot and attachment folders are prefixed by suite, so they never
collide) and validated once: the same contract the scripted experts' data meets, at
one GE start-up cost. The older layout variants (GUI-Odyssey 2024, Mind2Web task JSON,
GAIA's ``metadata.jsonl``) hold the same episodes, so they are merged and validated
apart.
"""

import json
import shutil

import pytest

from tests.helpers import REPO
from tracer1.config import ValidateDatasetConfig
from tracer1.data.importers import ImportFailed, import_dataset, importer_names
from tracer1.data.validation import format_summary, validate_dataset

pytestmark = pytest.mark.integration

FIXTURES = REPO / "data" / "fixtures" / "importers"
SPLITS = ("train", "val", "test")
OPTIONS = {"gui_odyssey": {"split_file": "random_split"}}
VARIANTS = {"gui_odyssey_2024": "gui_odyssey", "mind2web_json": "mind2web",
            "gaia_jsonl": "gaia"}
"""Older-layout fixture folder -> its format (the make_fixtures.py variants)."""


def _merge(root, folders: dict[str, str]):
    """(trajectory dir with every fixture folder imported, {folder: ImportReport})."""
    merged_dir = root / "all"
    merged_dir.mkdir()
    reports = {}
    lines = {split: [] for split in SPLITS}
    for folder, fmt in folders.items():
        out = root / folder
        reports[folder] = import_dataset(fmt, FIXTURES / folder, out, options=OPTIONS.get(fmt))
        for split in SPLITS:
            lines[split] += (out / f"{split}.jsonl").read_text().splitlines()
        shutil.copytree(out, merged_dir, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.jsonl"))
    for split in SPLITS:
        (merged_dir / f"{split}.jsonl").write_text("".join(f"{x}\n" for x in lines[split]))
    return merged_dir, reports


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    return _merge(tmp_path_factory.mktemp("imports"), {n: n for n in importer_names()})


def test_every_fixture_imports_into_every_split(merged):
    _, reports = merged
    assert set(reports) == {"agentnet", "androidcontrol", "gaia", "gta", "gui_odyssey",
                            "mind2web"}
    for name, report in reports.items():
        assert report.skipped == 0, name
        assert all(report.episodes[s] >= 1 for s in SPLITS), (name, report.episodes)


def test_imported_data_passes_validate_dataset(merged, tmp_path):
    data, _ = merged
    report = validate_dataset(ValidateDatasetConfig(), data, tmp_path / "v")
    assert report.success, format_summary(report)
    assert report.stats["episodes"] == 20
    assert report.stats["steps"] >= 60


def test_the_older_layout_variants_import_strictly_and_pass_validate_dataset(tmp_path):
    data, reports = _merge(tmp_path, VARIANTS)
    for name, report in reports.items():
        assert report.skipped == 0, name
        assert all(report.episodes[s] >= 1 for s in SPLITS), (name, report.episodes)
    report = validate_dataset(ValidateDatasetConfig(), data, tmp_path / "v")
    assert report.success, format_summary(report)
    assert report.stats["episodes"] == 10


def test_a_corrupted_import_output_is_rejected_naming_file_and_line(merged, tmp_path):
    data, _ = merged
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    path = broken / "train.jsonl"
    rows = path.read_text().splitlines()
    index = next(i for i, row in enumerate(rows) if '"click(' in row)
    record = json.loads(rows[index])
    step = next(s for s in record["steps"] if s["action"].startswith("click("))
    step["action"] = "click(x=1500, y=10)"
    rows[index] = json.dumps(record)
    path.write_text("\n".join(rows) + "\n")
    report = validate_dataset(ValidateDatasetConfig(), broken, tmp_path / "v")
    assert not report.success
    assert f"{path}:{index + 1}: steps[{step['index']}].action: x=1500 is outside" in report.error


def test_a_corrupted_source_copy_is_rejected_naming_the_record(tmp_path):
    src = tmp_path / "gui_odyssey"
    shutil.copytree(FIXTURES / "gui_odyssey", src)
    eid = "4106281093557721"
    annotation = src / "annotations" / f"{eid}.json"
    record = json.loads(annotation.read_text())
    record["steps"][0]["info"] = [[120]]
    annotation.write_text(json.dumps(record))
    with pytest.raises(ImportFailed) as info:
        import_dataset("gui_odyssey", src, tmp_path / "out")
    assert f"annotations/{eid}.json:{eid}: steps[0].info: expected [[x, y]]" in str(info.value)
    assert not (tmp_path / "out").exists()
