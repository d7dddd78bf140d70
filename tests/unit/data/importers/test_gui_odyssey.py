"""GUI-Odyssey: the released action forms (two-point taps, TEXT, KEY_*), the 2025 extras
(sam2_bbox, low_level_instruction, intention, context), splits, terminal status, file escapes."""

import json

import pytest

from tracer1.actions import Box, Click, Done, Press, Scroll, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.formats.gui_odyssey import annotate, map_action
from tracer1.data.jsonl import read_split_dir

CHROME = "8347583730823648"  # the fixture's 16-digit ids
SHOES = "4106281093557721"
ALARM = "9920173364428305"


@pytest.mark.parametrize("verb, info, expected", [
    # The release records a tap as touch-down and lift-off; the first point is the tap.
    ("CLICK", [[719, 762], [719, 762]], Click(719, 762)),
    ("CLICK", [[120, 80], [121, 80]], Click(120, 80)),
    ("CLICK", [[500, 930]], Click(500, 930)),
    ("CLICK", [[499.6, 0.2], [499.6, 0.2]], Click(500, 0)),
    ("CLICK", "KEY_HOME", Press("home")),
    ("CLICK", "KEY_BACK", Press("back")),
    ("CLICK", "KEY_APPSELECT", Press("recents")),
    ("LONG_PRESS", [[250, 640], [250, 640]], Click(250, 640)),
    ("SCROLL", [[500, 800], [500, 300]], Scroll("down")),  # finger up: content down
    ("SCROLL", [[500, 300], [500, 800]], Scroll("up")),
    ("SCROLL", [[800, 500], [300, 500]], Scroll("right")),
    ("SCROLL", [[300, 500], [800, 500]], Scroll("left")),
    ("TEXT", "weather Paris", Type("weather Paris")),
    ("TYPE", "weather", Type("weather")),
    ("HOME", "", Press("home")),
    ("BACK", "", Press("back")),
    ("PRESS", "ENTER", Press("enter")),
])
def test_action_table(verb, info, expected):
    assert map_action(verb, info, "steps[0].info") == expected


@pytest.mark.parametrize("verb, info, field, problem", [
    ("CLICK", [[1200, 5], [1200, 5]], "steps[0].info[0].x", "outside"),
    ("CLICK", "", "steps[0].info", "expected [[x, y]] or [[x1, y1], [x2, y2]]"),
    ("CLICK", [[1, 2], [3, 4], [5, 6]], "steps[0].info", "expected [[x, y]]"),
    ("SCROLL", [[5, 5], [5, 5]], "steps[0].info", "does not move"),
    ("SWIPE", "", "steps[0].action", "unknown action 'SWIPE'"),
])
def test_bad_steps_name_the_field(verb, info, field, problem):
    with pytest.raises(FieldError) as err:
        map_action(verb, info, "steps[0].info")
    assert err.value.field == field and problem in err.value.problem


def test_sam2_box_and_low_level_instruction_of_the_2025_release():
    raw = {"sam2_bbox": [655, 722, 783, 803],
           "low_level_instruction": "Open the Chrome app on the home screen."}
    click = annotate(Click(719, 762), raw, "steps[0]")
    assert click == Click(719, 762, target="Open the Chrome app on the home screen.")
    assert click.box == Box(655, 722, 783, 803)
    # A SAM2 box that misses the tap would mark the reference itself wrong: not used.
    assert annotate(Click(100, 100), raw, "steps[0]").box is None
    assert annotate(Type("x"), {"low_level_instruction": "Type x."}, "s").target == "Type x."
    assert annotate(Press("back"), raw, "steps[1]") == Press("back")
    with pytest.raises(FieldError, match="expected .x1, y1, x2, y2."):
        annotate(Click(1, 1), {"sam2_bbox": [1, 2, 3]}, "steps[2]")
    with pytest.raises(FieldError) as err:
        annotate(Click(1, 1), {"sam2_bbox": [0, 0, 1200, 5]}, "steps[2]")
    assert err.value.field == "steps[2].sam2_bbox[2]"


def _episodes(out):
    return {e.episode_id: e for split in read_split_dir(out).values() for e in split}


def test_2025_release_fixture_hand_checked(fixture_copy, tmp_path):
    import_dataset("gui_odyssey", fixture_copy("gui_odyssey"), tmp_path / "out")
    chrome = _episodes(tmp_path / "out")[f"gui_odyssey/{CHROME}"]
    actions = [s.action for s in chrome.steps]
    assert actions == [
        Click(719, 762, target="Open the Chrome app on the home screen."),
        Click(500, 121, target="Tap the search bar."),
        Type("weather Paris", target="Type 'weather Paris' into the search bar."),
        Scroll("down"), Press("home"),
        Click(250, 640, target="Long press the Keep Notes icon."), Done()]
    assert actions[0].box == Box(655, 722, 783, 803)
    assert actions[5].box == Box(205, 600, 296, 681)
    first = chrome.steps[0].executed
    assert first["source_action"] == "CLICK" and first["info"] == [[719, 762], [719, 762]]
    assert first["intention"].startswith("Step 0") and first["context"] == "Nothing done yet."
    assert chrome.steps[5].executed["source_action"] == "LONG_PRESS"
    assert chrome.success and chrome.meta["status"] == "COMPLETE"
    assert chrome.meta["screen"] == [1080, 2400]


def test_2024_release_fixture_same_actions_without_the_extras(fixture_copy, tmp_path):
    import_dataset("gui_odyssey", fixture_copy("gui_odyssey_2024"), tmp_path / "out")
    chrome = _episodes(tmp_path / "out")[f"gui_odyssey/{CHROME}"]
    assert [s.action for s in chrome.steps] == [
        Click(719, 762), Click(500, 121), Type("weather Paris"), Scroll("down"),
        Press("home"), Click(250, 640), Done()]
    assert all(getattr(s.action, "box", None) is None for s in chrome.steps)


def test_split_file_of_file_names_kept_val_carved_from_train_and_status(fixture_copy,
                                                                        tmp_path):
    src = fixture_copy("gui_odyssey")
    assert json.loads((src / "splits" / "random_split.json").read_text())["test"] == \
        [f"{ALARM}.json"]
    report = import_dataset("gui_odyssey", src, tmp_path / "out",
                            options={"split_file": "random_split"})
    assert report.episodes == {"train": 1, "val": 1, "test": 1}
    assert report.moved_to_fill_empty_splits == 1
    data = read_split_dir(tmp_path / "out")
    assert [e.episode_id for e in data["test"]] == [f"gui_odyssey/{ALARM}"]
    incomplete = data["test"][0]
    assert incomplete.success is False and incomplete.meta["status"] == "INCOMPLETE"
    assert incomplete.steps[-1].executed["ps"] == "Zoom is not installed on this device."
    assert incomplete.steps[1].action == Press("recents")  # CLICK "KEY_APPSELECT"
    assert incomplete.family == "General_Tool"


def _edit(src, eid, change):
    path = src / "annotations" / f"{eid}.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_screenshot_outside_the_source_is_refused(fixture_copy, tmp_path):
    src = fixture_copy("gui_odyssey")
    (src.parent / "secret.png").write_bytes(b"not yours")
    _edit(src, SHOES, lambda r: r["steps"][1].update(screenshot="../../secret.png"))
    with pytest.raises(ImportFailed) as info:
        import_dataset("gui_odyssey", src, tmp_path / "out")
    assert (f"annotations/{SHOES}.json:{SHOES}: steps[1].screenshot: path '../../secret.png' "
            "escapes the dataset directory") in str(info.value)


def test_missing_and_unreadable_screenshots_are_named(fixture_copy, tmp_path):
    src = fixture_copy("gui_odyssey")
    _edit(src, CHROME, lambda r: r["steps"][0].update(screenshot="gone.png"))
    (src / "screenshots" / f"{SHOES}_0.png").write_bytes(b"garbage")
    with pytest.raises(ImportFailed) as info:
        import_dataset("gui_odyssey", src, tmp_path / "out")
    text = str(info.value)
    assert f"annotations/{CHROME}.json:{CHROME}: steps[0].screenshot: file not found: " \
           "gone.png" in text
    assert f"annotations/{SHOES}.json:{SHOES}: steps[0].screenshot: not a readable image" in text
