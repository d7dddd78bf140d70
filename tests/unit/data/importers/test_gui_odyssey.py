"""GUI-Odyssey: action table (0-1000 already), scroll direction, terminal status, file escapes."""

import json

import pytest

from tracer1.actions import Click, Press, Scroll, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.formats.gui_odyssey import map_action
from tracer1.data.jsonl import read_split_dir


@pytest.mark.parametrize("verb, info, expected", [
    ("CLICK", [[500, 930]], Click(500, 930)),
    ("CLICK", [[499.6, 0.2]], Click(500, 0)),
    ("CLICK", "KEY_HOME", Press("home")),
    ("CLICK", "KEY_BACK", Press("back")),
    ("CLICK", "KEY_APPSELECT", Press("recents")),
    ("LONG_PRESS", [[250, 640]], Click(250, 640)),
    ("SCROLL", [[500, 800], [500, 300]], Scroll("down")),  # finger up: content down
    ("SCROLL", [[500, 300], [500, 800]], Scroll("up")),
    ("SCROLL", [[800, 500], [300, 500]], Scroll("right")),
    ("SCROLL", [[300, 500], [800, 500]], Scroll("left")),
    ("TYPE", "weather", Type("weather")),
    ("TEXT", "weather", Type("weather")),
    ("HOME", "", Press("home")),
    ("BACK", "", Press("back")),
    ("PRESS", "ENTER", Press("enter")),
])
def test_action_table(verb, info, expected):
    assert map_action(verb, info, "steps[0].info") == expected


@pytest.mark.parametrize("verb, info, field, problem", [
    ("CLICK", [[1200, 5]], "steps[0].info[0].x", "outside"),
    ("CLICK", "", "steps[0].info", "expected [[x, y]]"),
    ("SCROLL", [[5, 5], [5, 5]], "steps[0].info", "does not move"),
    ("SWIPE", "", "steps[0].action", "unknown action 'SWIPE'"),
])
def test_bad_steps_name_the_field(verb, info, field, problem):
    with pytest.raises(FieldError) as err:
        map_action(verb, info, "steps[0].info")
    assert err.value.field == field and problem in err.value.problem


def test_split_file_kept_val_carved_from_train_and_status(fixture_copy, tmp_path):
    src = fixture_copy("gui_odyssey")
    report = import_dataset("gui_odyssey", src, tmp_path / "out",
                            options={"split_file": "random_split"})
    assert report.episodes == {"train": 1, "val": 1, "test": 1}
    assert report.moved_to_fill_empty_splits == 1
    data = read_split_dir(tmp_path / "out")
    assert [e.episode_id for e in data["test"]] == ["gui_odyssey/4103"]  # the split file's test
    impossible = data["test"][0]
    assert impossible.success is False and impossible.meta["status"] == "IMPOSSIBLE"
    assert impossible.family == "General_Tool"


def _edit(src, eid, change):
    path = src / "annotations" / f"{eid}.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_screenshot_outside_the_source_is_refused(fixture_copy, tmp_path):
    src = fixture_copy("gui_odyssey")
    (src.parent / "secret.png").write_bytes(b"not yours")
    _edit(src, "4102", lambda r: r["steps"][1].update(screenshot="../../secret.png"))
    with pytest.raises(ImportFailed) as info:
        import_dataset("gui_odyssey", src, tmp_path / "out")
    assert ("annotations/4102.json:4102: steps[1].screenshot: path '../../secret.png' escapes "
            "the dataset directory") in str(info.value)


def test_missing_and_unreadable_screenshots_are_named(fixture_copy, tmp_path):
    src = fixture_copy("gui_odyssey")
    _edit(src, "4101", lambda r: r["steps"][0].update(screenshot="gone.png"))
    (src / "screenshots" / "4102_0.png").write_bytes(b"garbage")
    with pytest.raises(ImportFailed) as info:
        import_dataset("gui_odyssey", src, tmp_path / "out")
    text = str(info.value)
    assert "annotations/4101.json:4101: steps[0].screenshot: file not found: gone.png" in text
    assert "annotations/4102.json:4102: steps[0].screenshot: not a readable image" in text
