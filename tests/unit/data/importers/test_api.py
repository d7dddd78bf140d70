"""import_dataset: registry, atomic output, strict vs lenient, ids, seeds, the report."""

import json

import pytest

from tracer1.actions import Done
from tracer1.config import ValidateDatasetConfig
from tracer1.data.importers import (
    ImportFailed,
    SplitRule,
    get_importer,
    import_dataset,
    importer_names,
)
from tracer1.data.importers.assemble import assemble, safe_id, stable_seed
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError
from tracer1.data.jsonl import read_split_dir


def test_registry_lists_every_format_and_refuses_unknown():
    assert importer_names() == ("agentnet", "androidcontrol", "gaia", "gta", "gui_odyssey",
                                "mind2web")
    with pytest.raises(ValueError, match="unknown import format 'aitw'"):
        get_importer("aitw")


def test_output_is_deterministic_and_the_report_is_written(fixture_copy, tmp_path):
    src = fixture_copy("gta")
    first = import_dataset("gta", src, tmp_path / "a", report_path=tmp_path / "r.json")
    import_dataset("gta", src, tmp_path / "b")
    for split in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == \
               (tmp_path / "b" / f"{split}.jsonl").read_bytes()
    assert json.loads((tmp_path / "r.json").read_text()) == first.to_json()
    assert first.families == {"gta": 3} and first.files_copied == 3


def test_strict_failure_keeps_the_previous_output(fixture_copy, tmp_path):
    src = fixture_copy("gta")
    out = tmp_path / "out"
    import_dataset("gta", src, out)
    before = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    (src / "gta_dataset" / "dataset.json").write_text('{"0": {"dialogs": [{"role": "user"}]}}')
    with pytest.raises(ImportFailed, match="1 malformed record"):
        import_dataset("gta", src, out)
    assert {p.name: p.read_bytes() for p in out.glob("*.jsonl")} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging left


def test_configured_fractions_and_own_split_switch(fixture_copy, tmp_path):
    rule = SplitRule(fractions={"train": 0.5, "test": 0.5}, use_dataset_split=False)
    report = import_dataset("androidcontrol", fixture_copy("androidcontrol"), tmp_path / "o",
                            split_rule=rule)
    assert set(report.episodes) == {"train", "test"} and sum(report.episodes.values()) == 3
    assert not (tmp_path / "o" / "val.jsonl").exists()


def test_limits_come_from_the_validation_config(fixture_copy, tmp_path):
    with pytest.raises(ImportFailed, match=r"steps: 6 steps, outside the 1..5 episode length"):
        import_dataset("androidcontrol", fixture_copy("androidcontrol"), tmp_path / "o",
                       limits=ValidateDatasetConfig(max_episode_steps=5))


def test_ids_seeds_and_assembly_checks():
    assert safe_id("../../x y") == "x_y" and "/" not in safe_id("a/b")
    assert stable_seed("gta/1") != stable_seed("gta/2")
    limits = ValidateDatasetConfig()
    built = assemble(Draft("../7", "f", " Do it ", (DraftStep(Done()),)), "gta", limits)
    assert built.episode.episode_id == "gta/7" and built.episode.instruction == "Do it"
    assert built.episode.meta["source_id"] == "../7"
    with pytest.raises(FieldError, match="empty instruction"):
        assemble(Draft("1", "f", "  ", (DraftStep(Done()),)), "gta", limits)
    with pytest.raises(FieldError, match="steps: 0 steps"):
        assemble(Draft("1", "f", "x", ()), "gta", limits)


def test_duplicate_source_ids_are_reported(tmp_path):
    src = tmp_path / "gaia"
    src.mkdir()
    row = {"task_id": "same", "Question": "Q?", "Level": 1, "Final answer": "1", "file_name": ""}
    (src / "metadata.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(ImportFailed, match=r"metadata.jsonl:2: episode_id: 'gaia/same' "
                                           r"duplicates record metadata.jsonl:1"):
        import_dataset("gaia", src, tmp_path / "out")


def test_lenient_import_writes_only_good_records(fixture_copy, tmp_path):
    src = fixture_copy("gaia_jsonl")
    meta = src / "2023" / "validation" / "metadata.jsonl"
    meta.write_text(meta.read_text() + "{broken\n")
    report = import_dataset("gaia", src, tmp_path / "out", strict=False)
    assert report.skipped == 1 and report.records == 5
    assert report.problems == ("2023/validation/metadata.jsonl:4: <json>: Expecting property "
                               "name enclosed in double quotes at line 1 column 2",)
    assert sum(len(v) for v in read_split_dir(tmp_path / "out").values()) == 4


@pytest.fixture
def bomb_limit(monkeypatch):
    """Pillow's decompression-bomb limit lowered so the fixture's small screenshots trip it
    (it raises above twice ``MAX_IMAGE_PIXELS``, from the header alone)."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # the fixture's are 54x120


def _bomb(src):
    """Make one GUI-Odyssey screenshot 'huge': 200x200 is over twice the lowered limit."""
    from PIL import Image

    name = sorted((src / "screenshots").iterdir())[0]
    Image.new("RGB", (200, 200)).save(name, format="PNG")
    return name.name


def test_a_decompression_bomb_is_a_record_error_strict_names_it(fixture_copy, tmp_path,
                                                                 bomb_limit):
    """Pillow's DecompressionBombError used to escape and kill the import (lenient too)."""
    src = fixture_copy("gui_odyssey_2024")
    shot = _bomb(src)
    eid = shot.split("_")[0]
    with pytest.raises(ImportFailed) as info:
        import_dataset("gui_odyssey", src, tmp_path / "out")
    assert (f"annotations/{eid}.json:{eid}: steps[0].screenshot: image too large to decode "
            "safely") in str(info.value)


def test_a_decompression_bomb_is_skipped_leniently(fixture_copy, tmp_path, bomb_limit):
    src = fixture_copy("gui_odyssey_2024")
    eid = _bomb(src).split("_")[0]
    report = import_dataset("gui_odyssey", src, tmp_path / "out", strict=False,
                            split_rule=SplitRule(fractions={"train": 1.0}))
    assert report.skipped == 1 and report.episodes == {"train": 2}
    assert "image too large to decode safely" in report.problems[0]
    assert not (tmp_path / "out" / "screenshots" / "gui_odyssey" / eid).exists()


def test_a_record_failing_while_its_files_are_written_leaves_none(fixture_copy, tmp_path):
    """A JPEG whose header reads but whose pixels do not fails only when re-encoded."""
    import io

    from PIL import Image

    src = fixture_copy("gui_odyssey_2024")
    shots = sorted((src / "screenshots").iterdir())
    eid = shots[0].name.split("_")[0]
    buf = io.BytesIO()
    Image.new("RGB", (54, 120), (200, 10, 10)).save(buf, format="JPEG")
    shots[1].write_bytes(buf.getvalue()[:300])  # truncated: the header survives
    report = import_dataset("gui_odyssey", src, tmp_path / "out", strict=False,
                            split_rule=SplitRule(fractions={"train": 1.0}))
    assert report.skipped == 1
    assert f"{eid}.json:{eid}: steps[1].screenshot: not a readable image" in report.problems[0]
    assert not (tmp_path / "out" / "screenshots" / "gui_odyssey" / eid).exists()
