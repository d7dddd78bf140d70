"""GAIA and GTA on their published layouts: answers, attachments, withheld answers, tool calls."""

import json

import pyarrow.parquet as pq
import pytest

from tracer1.actions import Answer, Done, Tool
from tracer1.data.importers import ImportFailed, SplitRule, import_dataset
from tracer1.data.importers.conventions import gaia_answers_match, gta_answer_matches
from tracer1.data.importers.formats.gaia import metadata_files
from tracer1.data.jsonl import read_split_dir

FRUIT = "gaia/c3e1a9d7-4f2b-4b8e-9d1c-7a6b5e4f3d22"
WITHHELD = "gaia/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c44"


def _episodes(out):
    return {e.episode_id: e for split in read_split_dir(out).values() for e in split}


def _splits(out, names=("train", "val", "test")):
    return {e.episode_id: name for name, split in read_split_dir(out, names).items()
            for e in split}


def test_gaia_current_hub_layout_parquet_with_string_levels_and_file_path(fixture_copy, tmp_path):
    """``2023/<split>/metadata.parquet`` (+ per-level files, not read twice), ``Level`` "2"."""
    report = import_dataset("gaia", fixture_copy("gaia"), tmp_path / "out")
    assert report.records == 4 and report.skipped == 0  # the level files repeat no row
    episodes = _episodes(tmp_path / "out")
    fruit = episodes[FRUIT]
    assert [s.action for s in fruit.steps] == [Answer("7")]
    assert fruit.family == "level2"  # Level is the string "2" in the parquet release
    assert fruit.steps[0].observation.text == \
        "Attached file: c3e1a9d7-4f2b-4b8e-9d1c-7a6b5e4f3d22.txt"
    (copied,) = fruit.meta["attachments"]
    assert (tmp_path / "out" / copied).read_text() == "apples,3\npears,4\n"
    assert fruit.meta["annotator"]["Number of tools"] == "2"
    assert episodes["gaia/e8d4c2b0-6a1f-4d3e-b5c7-9f8e7d6c5b33"].steps[0].action == \
        Answer("Paris, France")


def test_gaia_withheld_test_answers_are_an_unscored_test_split_not_an_error(fixture_copy,
                                                                             tmp_path):
    """A full download holds ``2023/test`` with answers ``?``: strict import succeeds."""
    report = import_dataset("gaia", fixture_copy("gaia"), tmp_path / "out")
    assert report.skipped == 0
    withheld = _episodes(tmp_path / "out")[WITHHELD]
    assert _splits(tmp_path / "out")[WITHHELD] == "test"
    assert withheld.meta["scored"] is False and withheld.meta["answer_withheld"] is True
    assert withheld.meta["final_answer"] is None and withheld.family == "level3"
    assert withheld.steps[0].action == Answer("?")
    assert withheld.meta["attachments"]  # the attached map is usable closed-loop
    assert gaia_answers_match("?", "?") is None  # nothing to score against
    answered = [e for e in _episodes(tmp_path / "out").values() if e.episode_id != WITHHELD]
    assert all("scored" not in e.meta for e in answered)


def test_withheld_answers_stay_in_test_whatever_the_rule(fixture_copy, tmp_path):
    src = fixture_copy("gaia")
    rule = SplitRule(fractions={"train": 0.5, "test": 0.5}, use_dataset_split=False)
    import_dataset("gaia", src, tmp_path / "a", split_rule=rule)
    assert _splits(tmp_path / "a", ("train", "test"))[WITHHELD] == "test"
    with pytest.raises(ValueError, match=r"1 episode\(s\) have no reference .* only go to a "
                                         r"test split"):
        import_dataset("gaia", src, tmp_path / "b",
                       split_rule=SplitRule(fractions={"train": 1.0}))


def test_gaia_level_files_alone_and_the_older_jsonl_layout_give_the_same_episodes(
        fixture_copy, tmp_path):
    current = fixture_copy("gaia")
    import_dataset("gaia", current, tmp_path / "parquet")
    for split in ("validation", "test"):
        (current / "2023" / split / "metadata.parquet").unlink()
    assert [p.name for p in metadata_files(current)][:3] == [
        "metadata.level1.parquet", "metadata.level2.parquet", "metadata.level3.parquet"]
    import_dataset("gaia", current, tmp_path / "levels")
    import_dataset("gaia", fixture_copy("gaia_jsonl"), tmp_path / "jsonl")
    want = {k: [s.action for s in e.steps] for k, e in _episodes(tmp_path / "parquet").items()}
    for other in ("levels", "jsonl"):
        got = _episodes(tmp_path / other)
        assert {k: [s.action for s in e.steps] for k, e in got.items()} == want
        assert got[FRUIT].family == "level2" and got[WITHHELD].meta["scored"] is False


def test_gaia_escaping_files_and_empty_answers_name_file_and_row(fixture_copy, tmp_path):
    src = fixture_copy("gaia")
    path = src / "2023" / "validation" / "metadata.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[0]["Final answer"] = ""
    rows[2]["file_path"] = "../../../etc/passwd"
    pq.write_table(pq.read_table(path).from_pylist(rows, schema=pq.read_schema(path)), path)
    with pytest.raises(ImportFailed) as info:
        import_dataset("gaia", src, tmp_path / "out")
    text = str(info.value)
    assert "2023/validation/metadata.parquet:0: Final answer: empty answer" in text
    assert ("2023/validation/metadata.parquet:2: file_path: path '../../../etc/passwd' "
            "escapes the dataset directory") in text
    report = import_dataset("gaia", src, tmp_path / "out", strict=False)
    assert report.skipped == 2 and report.records == 4


def test_gaia_jsonl_escaping_file_named_by_line(fixture_copy, tmp_path):
    src = fixture_copy("gaia_jsonl")
    meta = src / "2023" / "validation" / "metadata.jsonl"
    rows = [json.loads(line) for line in meta.read_text().splitlines()]
    rows[2]["file_name"] = "../../../etc/passwd"
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ImportFailed, match=r"2023/validation/metadata.jsonl:3: file_name: path "
                                           r"'../../../etc/passwd' escapes"):
        import_dataset("gaia", src, tmp_path / "out")


@pytest.mark.parametrize("strict", [True, False])
def test_an_import_of_zero_episodes_is_an_error(tmp_path, strict):
    """The pre-parquet importer found 0 records in the current layout and exited 0."""
    src = tmp_path / "not_gaia"
    (src / "2023" / "validation").mkdir(parents=True)
    (src / "2023" / "validation" / "README.md").write_text("no metadata here")
    with pytest.raises(ImportFailed, match=r"0 episodes; no gaia records found"):
        import_dataset("gaia", src, tmp_path / "out", strict=strict)
    assert not (tmp_path / "out").exists()


def test_a_lenient_import_whose_every_record_is_malformed_fails(tmp_path):
    src = tmp_path / "gaia"
    src.mkdir()
    (src / "metadata.jsonl").write_text('{"task_id": "a"}\n{broken\n')
    with pytest.raises(ImportFailed) as info:
        import_dataset("gaia", src, tmp_path / "out", strict=False)
    assert "0 episodes; all 2 record(s) were malformed" in str(info.value)
    assert "metadata.jsonl:1: Final answer: empty answer" in str(info.value)


# --- GTA


def test_gta_release_layout_tool_chain_answer_and_done(fixture_copy, tmp_path):
    """``gta_dataset/dataset.json`` beside ``toolmeta.json``; files relative to it."""
    report = import_dataset("gta", fixture_copy("gta"), tmp_path / "out")
    assert report.records == 3 and report.skipped == 0  # toolmeta.json is not a record file
    episodes = _episodes(tmp_path / "out")
    receipt = episodes["gta/0"]
    assert [s.action for s in receipt.steps] == [
        Tool.of("OCR", {"image": "image/image_1.jpg"}),
        Tool.of("Calculator", {"expression": "3.50+4.25"}),
        Answer("They cost 7.75 together."),
    ]
    assert receipt.steps[0].observation.text == "Attached files: image/image_1.jpg"
    assert receipt.steps[1].observation.text.endswith("Cake 4.25")
    assert receipt.steps[0].executed["thought"] == "Read the receipt first."
    assert receipt.meta["gt_answer"] == {"whitelist": [["7.75"]], "blacklist": None}
    drawn = episodes["gta/2"]
    # DrawBox's bbox is the release's text "(x1, y1, x2, y2)", kept as it is.
    assert drawn.steps[0].action == Tool.of("DrawBox", {
        "image": "image/image_3.jpg", "bbox": "(10, 5, 50, 20)", "annotation": "title"})
    assert isinstance(drawn.steps[-1].action, Done) and drawn.meta["gt_answer"] is None


def test_gta_subjective_reference_lists_are_scored(fixture_copy, tmp_path):
    """A list ``gt_answer`` used to score None (never scored); now any reference matches."""
    import_dataset("gta", fixture_copy("gta"), tmp_path / "out")
    cook = _episodes(tmp_path / "out")["gta/1"]
    refs = cook.meta["gt_answer"]
    assert isinstance(refs, list) and len(refs) == 2
    assert gta_answer_matches(cook.steps[-1].action.text, refs) is True
    assert gta_answer_matches("A vegetable stew of tomatoes and onion", refs) is True
    assert gta_answer_matches("Order a pizza", refs) is False
    assert gta_answer_matches("anything", []) is None


def test_gta_bad_call_is_named_by_key(fixture_copy, tmp_path):
    src = fixture_copy("gta")
    path = src / "gta_dataset" / "dataset.json"
    doc = json.loads(path.read_text())
    del doc["1"]["dialogs"][1]["tool_calls"][0]["function"]["name"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportFailed, match=r"gta_dataset/dataset.json:1: dialogs\[1\]."
                                           r"tool_calls\[0\].function.name: missing required"):
        import_dataset("gta", src, tmp_path / "out")
