"""GAIA and GTA: answers, attachments, tool calls, withheld answers, escaping files."""

import json

import pytest

from tracer1.actions import Answer, Done, Tool
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.jsonl import read_split_dir


def _episodes(out):
    return {e.episode_id: e for split in read_split_dir(out).values() for e in split}


def test_gaia_one_answer_step_and_the_attachment(fixture_copy, tmp_path):
    import_dataset("gaia", fixture_copy("gaia"), tmp_path / "out")
    episodes = _episodes(tmp_path / "out")
    fruit = episodes["gaia/7bd855d8-463d"]
    assert [s.action for s in fruit.steps] == [Answer("7")]
    assert fruit.family == "level2"
    assert fruit.steps[0].observation.text == "Attached file: 7bd855d8-463d.txt"
    (copied,) = fruit.meta["attachments"]
    assert (tmp_path / "out" / copied).read_text() == "apples,3\npears,4\n"
    assert "Steps" in fruit.meta["annotator"]


def test_gaia_withheld_answer_and_escaping_file(fixture_copy, tmp_path):
    src = fixture_copy("gaia")
    meta = src / "2023" / "validation" / "metadata.jsonl"
    rows = [json.loads(line) for line in meta.read_text().splitlines()]
    rows[0]["Final answer"] = "?"
    rows[2]["file_name"] = "../../../etc/passwd"
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ImportFailed) as info:
        import_dataset("gaia", src, tmp_path / "out")
    text = str(info.value)
    assert "2023/validation/metadata.jsonl:1: Final answer: withheld ('?')" in text
    assert "2023/validation/metadata.jsonl:3: file_name: path '../../../etc/passwd' escapes" in text
    report = import_dataset("gaia", src, tmp_path / "out", strict=False)
    assert report.skipped == 2 and report.records == 3


def test_gta_tool_chain_answer_and_done(fixture_copy, tmp_path):
    import_dataset("gta", fixture_copy("gta"), tmp_path / "out")
    episodes = _episodes(tmp_path / "out")
    receipt = episodes["gta/0"]
    assert [s.action for s in receipt.steps] == [
        Tool.of("OCR", {"image": "image/image_1.png"}),
        Tool.of("Calculator", {"expression": "3.50+4.25"}),
        Answer("They cost 7.75 together."),
    ]
    assert receipt.steps[0].observation.text == "Attached files: image/image_1.png"
    assert receipt.steps[1].observation.text.endswith("OCR: Tea 3.50\nCake 4.25")
    assert receipt.meta["gt_answer"] == {"whitelist": [["7.75"]], "blacklist": None}
    drawn = episodes["gta/2"]
    assert drawn.steps[0].action == Tool.of("DrawBox", {"image": "image/image_2.png",
                                                        "bbox": "[10, 5, 50, 20]"})
    assert isinstance(drawn.steps[-1].action, Done)


def test_gta_bad_call_is_named_by_key(fixture_copy, tmp_path):
    src = fixture_copy("gta")
    doc = json.loads((src / "dataset.json").read_text())
    del doc["1"]["dialogs"][1]["tool_calls"][0]["function"]["name"]
    (src / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(ImportFailed, match=r"dataset.json:1: dialogs\[1\].tool_calls\[0\]."
                                           r"function.name: missing required field"):
        import_dataset("gta", src, tmp_path / "out")
