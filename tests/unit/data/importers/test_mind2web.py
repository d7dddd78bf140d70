"""Mind2Web: operations, target boxes from bounding_box_rect, both published layouts."""

import json

import pytest

from tracer1.actions import Box, Click, Done, Select, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.formats.mind2web import element_text
from tracer1.data.jsonl import read_split_dir


def test_parquet_fixture_keeps_target_boxes_and_dataset_splits(fixture_copy, tmp_path):
    report = import_dataset("mind2web", fixture_copy("mind2web"), tmp_path / "out")
    assert report.episodes == {"train": 1, "val": 1, "test": 1}
    data = read_split_dir(tmp_path / "out")
    assert [e.episode_id for e in data["test"]] == ["mind2web/a1b2c3d4-0003"]  # test_task file
    flight = next(e for split in data.values() for e in split
                  if e.episode_id == "mind2web/a1b2c3d4-0001")
    first, typed, selected, done = (s.action for s in flight.steps)
    # "40,20,60,12" on a 128x200 screenshot -> [312, 100, 781, 160]
    assert first == Click(546, 130, target="[combobox] From")
    assert first.box == Box(312, 100, 781, 160)
    assert typed == Type("Columbus", target="[combobox] From") and typed.box == first.box
    assert selected == Select("April 12", target="[select] Date")
    assert isinstance(done, Done) and flight.steps[-1].observation.screenshot is None
    assert flight.family == "Travel" and flight.meta["website"] == "united"


def _task(aid, task, ops):
    return {"annotation_id": aid, "confirmed_task": task, "website": "w", "domain": "Info",
            "subdomain": "s", "action_reprs": [r for _, _, r, _ in ops],
            "actions": [{"action_uid": f"{aid}-{i}", "operation": {"op": op, "value": value},
                         "pos_candidates": [] if rect is None else [{
                             "tag": "a", "attributes": json.dumps({"bounding_box_rect": rect})}]}
                        for i, (op, value, _, rect) in enumerate(ops)]}


def test_json_layout_without_screenshots_uses_the_viewport(tmp_path):
    src = tmp_path / "m2w"
    src.mkdir()
    tasks = [_task(f"t{i}", f"Task number {i}", [("CLICK", "", "[a]  Home -> CLICK",
                                                    "0,1000,640,440")]) for i in range(3)]
    (src / "train_0.json").write_text(json.dumps(tasks))
    import_dataset("mind2web", src, tmp_path / "out")
    episode = next(e for split in read_split_dir(tmp_path / "out").values() for e in split)
    click = episode.steps[0].action
    # 1280 wide; the page is as tall as the deepest box (1440 px)
    assert click.box == Box(0, 694, 500, 1000) and click.target == "[a] Home"
    assert episode.steps[0].observation.screenshot is None


def test_missing_target_and_bad_rect_are_named(tmp_path):
    src = tmp_path / "m2w"
    src.mkdir()
    tasks = [_task("t0", "A", [("CLICK", "", "[a] x -> CLICK", None)]),
             _task("t1", "B", [("CLICK", "", "[a] x -> CLICK", "1,2,three,4")]),
             _task("t2", "C", [("HOVER", "", "[a] x -> HOVER", "1,2,3,4")])]
    (src / "train_0.json").write_text(json.dumps(tasks))
    with pytest.raises(ImportFailed) as info:
        import_dataset("mind2web", src, tmp_path / "out")
    text = str(info.value)
    assert "train_0.json:0: actions[0].pos_candidates: no positive candidate" in text
    assert ("train_0.json:1: actions[0].pos_candidates[0].attributes.bounding_box_rect: "
            "expected 'x,y,width,height'") in text
    assert "train_0.json:2: actions[0].operation.op: unknown operation 'HOVER'" in text


def test_element_text():
    assert element_text("[button]  Search -> CLICK") == "[button] Search"
