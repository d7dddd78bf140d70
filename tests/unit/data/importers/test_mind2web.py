"""Mind2Web: operations, target boxes from a *visible* positive candidate, steps without one,
null screenshots sized like the rest of their task, both published layouts."""

import json

import pytest

from tracer1.actions import Box, Click, Done, Select, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.formats.mind2web import element_text, page_sizes, visible
from tracer1.data.jsonl import read_split_dir

FLIGHT = "mind2web/6f1a4b1d-21c4-4d4b-9c3b-0a6e3f1c2a11"
CAR = "mind2web/0c9e5e7a-7d1b-4bb0-8f5b-9c8e2d7f4b22"
TABLE = "mind2web/b2d6c0f4-3e8a-4f7e-a1d2-5c4b3a291e33"


def _episodes(out):
    return {e.episode_id: e for split in read_split_dir(out).values() for e in split}


def test_parquet_fixture_keeps_target_boxes_and_dataset_splits(fixture_copy, tmp_path):
    report = import_dataset("mind2web", fixture_copy("mind2web"), tmp_path / "out")
    assert report.episodes == {"train": 1, "val": 1, "test": 1} and report.skipped == 0
    data = read_split_dir(tmp_path / "out")
    assert [e.episode_id for e in data["test"]] == [TABLE]  # the test_task file
    flight = _episodes(tmp_path / "out")[FLIGHT]
    first, typed, selected, done = (s.action for s in flight.steps)
    # "40,20,60,12" on the 128x200 screenshot -> [312, 100, 781, 160]
    assert first == Click(546, 130, target="[combobox] From")
    assert first.box == Box(312, 100, 781, 160)
    assert typed == Type("Columbus", target="[combobox] From") and typed.box == first.box
    assert isinstance(done, Done) and flight.steps[-1].observation.screenshot is None
    assert flight.family == "Travel" and flight.meta["website"] == "united"
    # The original target is "-1,-1,-1,-1" (not rendered): the visible candidate
    # "10,110,100,14" is the target, not an "inverted box" error.
    assert selected == Select("April 12", target="[select] Date")
    assert selected.box == Box(78, 550, 859, 620)


def test_a_null_screenshot_is_sized_like_the_rest_of_its_task(fixture_copy, tmp_path):
    import_dataset("mind2web", fixture_copy("mind2web"), tmp_path / "out")
    car = _episodes(tmp_path / "out")[CAR]
    typed = car.steps[1]
    assert typed.observation.screenshot is None
    # "70,150,50,12" on the task's 128x200 page: y 750; an assumed 1280x720 page gave 208.
    assert typed.action == Type("10001", target="[textbox] ZIP code")
    assert typed.action.box == Box(547, 750, 938, 810)
    assert page_sizes([b"", None], []) == [(1280, 720), (1280, 720)]


def test_steps_without_a_positive_candidate_do_not_drop_the_task(fixture_copy, tmp_path):
    """Strict import keeps the task: a TYPE without a target keeps no box; a CLICK without
    one has no point and is left out, with the reason recorded."""
    import_dataset("mind2web", fixture_copy("mind2web"), tmp_path / "out")
    episodes = _episodes(tmp_path / "out")
    car = episodes[CAR]
    assert [s.action.verb for s in car.steps] == ["click", "type", "done"]
    assert car.meta["skipped_steps"] == [{
        "index": 2, "action_uid": "0c9e5e7a-act2",
        "reason": "CLICK without a visible positive candidate: no point to click"}]
    table = episodes[TABLE]
    party = table.steps[1].action
    assert party == Type("2", target="[textbox] Party size") and party.box is None
    assert "skipped_steps" not in table.meta


def test_json_layout_without_screenshots_uses_the_viewport(fixture_copy, tmp_path):
    import_dataset("mind2web", fixture_copy("mind2web_json"), tmp_path / "out")
    episodes = _episodes(tmp_path / "out")
    flight = episodes[FLIGHT]
    click = flight.steps[0].action
    # 1280 wide, 720 tall (no box is deeper): "40,20,60,12" -> [31, 28, 78, 44]
    assert click == Click(54, 36, target="[combobox] From") and click.box == Box(31, 28, 78, 44)
    assert flight.steps[2].action.box == Box(8, 153, 86, 172)  # the visible candidate again
    assert all(s.observation.screenshot is None for s in flight.steps)
    assert [s.action.verb for s in episodes[CAR].steps] == ["click", "type", "done"]


def _task(aid, task, ops):
    return {"annotation_id": aid, "confirmed_task": task, "website": "w", "domain": "Info",
            "subdomain": "s", "action_reprs": [r for _, _, r, _ in ops],
            "actions": [{"action_uid": f"{aid}-{i}", "operation": {"op": op, "value": value},
                         "pos_candidates": [{"tag": "a", "attributes": json.dumps(
                             {"bounding_box_rect": rect})} for rect in rects]}
                        for i, (op, value, _, rects) in enumerate(ops)]}


def test_deep_boxes_stretch_the_assumed_page(tmp_path):
    src = tmp_path / "m2w"
    src.mkdir()
    tasks = [_task(f"t{i}", f"Task number {i}", [("CLICK", "", "[a]  Home -> CLICK",
                                                    ["0,1000,640,440"])]) for i in range(3)]
    (src / "train_0.json").write_text(json.dumps(tasks))
    import_dataset("mind2web", src, tmp_path / "out")
    episode = next(iter(_episodes(tmp_path / "out").values()))
    click = episode.steps[0].action
    # 1280 wide; the page is as tall as the deepest box (1440 px)
    assert click.box == Box(0, 694, 500, 1000) and click.target == "[a] Home"


def test_bad_records_are_named(tmp_path):
    src = tmp_path / "m2w"
    src.mkdir()
    tasks = [_task("t0", "A", [("CLICK", "", "[a] x -> CLICK", [])]),
             _task("t1", "B", [("CLICK", "", "[a] x -> CLICK", ["1,2,three,4"])]),
             _task("t2", "C", [("HOVER", "", "[a] x -> HOVER", ["1,2,3,4"])]),
             _task("t3", "D", [("CLICK", "", "[a] x -> CLICK", ["-1,-1,-1,-1"])])]
    (src / "train_0.json").write_text(json.dumps(tasks))
    with pytest.raises(ImportFailed) as info:
        import_dataset("mind2web", src, tmp_path / "out")
    text = str(info.value)
    assert ("train_0.json:0: actions: no step left: CLICK without a visible positive "
            "candidate") in text
    assert ("train_0.json:1: actions[0].pos_candidates[0].attributes.bounding_box_rect: "
            "expected 'x,y,width,height'") in text
    assert "train_0.json:2: actions[0].operation.op: unknown operation 'HOVER'" in text
    assert "train_0.json:3: actions: no step left" in text  # invisible, not "inverted box"


def test_visibility_and_element_text():
    assert not visible((-1, -1, -2, -2), None)  # "-1,-1,-1,-1"
    assert not visible((10, 10, 10, 30), None)  # no width
    assert not visible((10, 300, 50, 320), (128, 200))  # below the page
    assert visible((120, 190, 150, 230), (128, 200))  # hangs over the edge: clipped later
    assert element_text("[button]  Search -> CLICK") == "[button] Search"
