"""AndroidControl: action table, pixel -> grid, TFRecord corruption named by file and record."""

import json

import pytest

from tracer1.actions import Click, Done, Press, Scroll, Tool, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.formats.androidcontrol import map_action
from tracer1.data.importers.tfrecord import encode_example, write_records
from tracer1.data.jsonl import read_split_dir

SIZE = (1080, 2400)


@pytest.mark.parametrize("raw, expected", [
    ({"action_type": "click", "x": 540, "y": 1200}, Click(500, 500, target="step")),
    ({"action_type": "long_press", "x": 0, "y": 2400}, Click(0, 1000, target="step")),
    ({"action_type": "scroll", "direction": "up"}, Scroll("up")),
    ({"action_type": "input_text", "text": "pizza"}, Type("pizza")),
    ({"action_type": "type", "x": 10, "y": 10, "text": "hi"}, Type("hi", target="step")),
    ({"action_type": "open_app", "app_name": "Maps"}, Tool.of("open_app", {"app_name": "Maps"})),
    ({"action_type": "navigate_back"}, Press("back")),
    ({"action_type": "navigate_home"}, Press("home")),
    ({"action_type": "wait"}, Tool.of("wait")),
])
def test_action_table(raw, expected):
    assert map_action(raw, SIZE, "step", "actions[0]") == expected


@pytest.mark.parametrize("raw, field, problem", [
    ({"action_type": "click", "x": 1500, "y": 10}, "actions[2].x", "outside the 1080-px screen"),
    ({"action_type": "click", "x": 10}, "actions[2].y", "missing required field"),
    ({"action_type": "fling"}, "actions[2].action_type", "unknown action type 'fling'"),
    ({"action_type": "scroll", "direction": "sideways"}, "actions[2].direction", "expected one"),
])
def test_bad_actions_name_the_field(raw, field, problem):
    with pytest.raises(FieldError) as info:
        map_action(raw, SIZE, None, "actions[2]")
    assert info.value.field == field and problem in info.value.problem


def test_fixture_imports_with_the_dataset_split_and_a_final_done(fixture_copy, tmp_path):
    report = import_dataset("androidcontrol", fixture_copy("androidcontrol"), tmp_path / "out")
    assert report.episodes == {"train": 1, "val": 1, "test": 1}  # splits.json: validation -> val
    data = read_split_dir(tmp_path / "out")
    (episode,) = data["val"]
    assert episode.episode_id == "androidcontrol/1002" and episode.suite == "androidcontrol"
    assert isinstance(episode.steps[-1].action, Done)
    assert episode.steps[1].action == Click(185, 833, target="Open Maps")  # (20, 200) on 108x240
    assert episode.steps[-1].observation.screenshot == "screenshots/androidcontrol/1002/5.png"
    assert (tmp_path / "out" / episode.steps[-1].observation.screenshot).is_file()


def _episode(eid: int, actions: list[dict], shots: int | None = None) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (10, 20)).save(buf, format="PNG")
    n = len(actions) + 1 if shots is None else shots
    return encode_example({
        "episode_id": [eid], "goal": [f"goal {eid}".encode()],
        "screenshots": [buf.getvalue()] * n, "screenshot_widths": [100] * n,
        "screenshot_heights": [200] * n, "actions": [json.dumps(a).encode() for a in actions],
        "step_instructions": [b"do it"] * len(actions),
    })


def test_malformed_record_is_named_strict_fails_lenient_skips(tmp_path):
    src = tmp_path / "ac"
    src.mkdir()
    good = [{"action_type": "click", "x": 50, "y": 100}]
    write_records(src / "android_control-00000-of-00001", [
        _episode(1, good), _episode(2, [{"action_type": "click", "x": 500, "y": 1}]),
        _episode(3, good, shots=5), _episode(4, good), _episode(5, good),
    ])
    with pytest.raises(ImportFailed) as info:
        import_dataset("androidcontrol", src, tmp_path / "out")
    assert "android_control-00000-of-00001:1: actions[0].x: 500 is outside the 100-px screen" \
        in str(info.value)
    assert "android_control-00000-of-00001:2: screenshots: 5 screenshots for 1 actions" \
        in str(info.value)
    assert not (tmp_path / "out").exists()

    report = import_dataset("androidcontrol", src, tmp_path / "out", strict=False)
    assert report.skipped == 2 and sum(report.episodes.values()) == 3
    assert report.problems[0].startswith("android_control-00000-of-00001:1: actions[0].x")


def test_corrupt_tfrecord_framing_names_the_record(fixture_copy, tmp_path):
    src = fixture_copy("androidcontrol")
    path = src / "android_control-00000-of-00001"
    import gzip

    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[0] ^= 0xFF  # the first record's length no longer matches its checksum
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ImportFailed, match=r"android_control-00000-of-00001:0: <tfrecord>: "
                                           r"length checksum mismatch"):
        import_dataset("androidcontrol", src, tmp_path / "out")
