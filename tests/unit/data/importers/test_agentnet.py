"""AgentNet: OpenCUA's code forms, 0-1 coordinates (clamped integers too), the release's
image folders, terminate, unsafe code refused."""

import json

import pytest

from tracer1.actions import Click, Done, Press, Scroll, Tool, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.formats.agentnet import image_folders, map_code
from tracer1.data.jsonl import read_split_dir

RENAME = "agentnet/20241105185631_a7c3e5d2-0b1f-4c3e-9d2a-6f8e1b4c7a01"
COPY = "agentnet/20241106114028_2c05b837-faae-4b35-8e89-71d4bc2cab66"
SORT = "agentnet/20240927235321_5855063d-3f37-47a4-ab45-5247adfdb6f7"
FINDER = "agentnet/20240930101502_7d2e9b40-55c1-4f0a-8a3e-2b9c6d1e0f88"


@pytest.mark.parametrize("code, expected", [
    ("pyautogui.click(x=0.5, y=0.25)", [Click(500, 250, target="t")]),
    ("pyautogui.doubleClick(0.1, 0.2)", [Click(100, 200, target="t")]),
    ("computer.tripleClick(x=0.3, y=0.9)", [Click(300, 900, target="t")]),
    # OpenCUA clamps with max(0, min(v, 1)): the integers are the screen's edges.
    ("pyautogui.click(x=1, y=1)", [Click(1000, 1000, target="t")]),
    ("pyautogui.rightClick(x=0, y=1)", [Click(0, 1000, target="t")]),
    ("pyautogui.write(message='hello')", [Type("hello")]),
    ("pyautogui.typewrite('hi')", [Type("hi")]),
    ("pyautogui.press(keys=['enter'])", [Press("enter")]),
    ("pyautogui.press(keys=['tab', 'enter'])", [Press("tab"), Press("enter")]),
    ("pyautogui.press('enter')", [Press("enter")]),
    ("pyautogui.hotkey(keys=['ctrl', 'c'])", [Press("ctrl+c")]),
    ("pyautogui.hotkey('ctrl', 'c')", [Press("ctrl+c")]),
    ("pyautogui.scroll(3)", [Scroll("up")]),
    ("pyautogui.scroll(-3)", [Scroll("down")]),
    ("pyautogui.hscroll(-2)", [Scroll("left")]),
    ("pyautogui.hscroll(2)", [Scroll("right")]),
    ("pyautogui.moveTo(x=0.5, y=0.5)", [Tool.of("move_to", {"x": 500, "y": 500})]),
    ("pyautogui.dragTo(x=1, y=0.2773, button='left')",
     [Tool.of("drag_to", {"x": 1000, "y": 277})]),
    ("pyautogui.keyDown('shift')", [Tool.of("key_down", {"key": "shift"})]),
    ("computer.wait()", [Tool.of("wait")]),
    ("pyautogui.click(x=0.1, y=0.1)\npyautogui.write('a')", [Click(100, 100, target="t"),
                                                             Type("a")]),
])
def test_code_table(code, expected):
    assert map_code(code, "t", "traj[0].value.code") == expected


@pytest.mark.parametrize("code, problem", [
    ("import os; os.system('rm -rf /')", "expected pyautogui./computer. calls"),
    ("pyautogui.click(x=get_x(), y=1)", "non-literal arguments"),
    ("pyautogui.click(x=0.5", "not Python"),
    ("pyautogui.mouseDown()", "unsupported call 'mouseDown'"),
    # Coordinates are never pixels: 960 is not a point on the 0-1 scale.
    ("pyautogui.click(x=960, y=540)", "960 is outside 0..1"),
    ("pyautogui.click(x=1.2, y=0.5)", "1.2 is outside 0..1"),
])
def test_bad_code_is_refused_without_running_it(code, problem):
    with pytest.raises(FieldError) as info:
        map_code(code, None, "traj[2].value.code")
    assert problem in info.value.problem


def _episodes(out):
    return {e.episode_id: e for split in read_split_dir(out).values() for e in split}


def test_release_layout_with_its_image_folders(fixture_copy, tmp_path):
    """``agentnet_ubuntu_5k.jsonl`` + ``ubuntu_images/``, ``agentnet_win_mac_18k.jsonl`` +
    ``win_mac_images/`` (the pre-fix importer looked only in ``images/``)."""
    src = fixture_copy("agentnet")
    assert not (src / "images").exists()
    report = import_dataset("agentnet", src, tmp_path / "out")
    assert report.records == 4 and report.skipped == 0
    episodes = _episodes(tmp_path / "out")
    shown = sum(s.observation.screenshot is not None for e in episodes.values() for s in e.steps)
    assert report.files_copied == shown == 19
    renamed = episodes[RENAME]
    assert [s.action for s in renamed.steps] == [
        Click(100, 200, target="Double-click the Files icon"),
        Click(500, 400, target="Right-click report.txt"),
        Press("f2"), Type("final.txt"), Press("enter"), Done()]
    assert renamed.success and renamed.family == "ubuntu"
    assert renamed.steps[0].executed["thought"] == "open files"
    assert renamed.steps[0].observation.screenshot is not None
    copied = episodes[COPY]
    assert [s.action for s in copied.steps] == [
        Click(300, 1000, target="Triple-click the last line"),  # y=1: the bottom edge
        Press("ctrl+c"),
        Tool.of("move_to", {"x": 455, "y": 268}), Tool.of("drag_to", {"x": 1000, "y": 277}),
        Done()]
    sort = episodes[SORT]
    assert [s.action.verb for s in sort.steps] == ["click", "scroll", "scroll", "tool", "done"]
    assert sort.success is False and sort.family == "windows_macos"  # terminate failure
    assert episodes[FINDER].steps[0].action == Press("cmd+space")
    assert isinstance(episodes[FINDER].steps[-1].action, Done)  # no terminate: appended


def test_image_folder_follows_the_jsonl_name_and_missing_images_are_named(fixture_copy,
                                                                          tmp_path):
    assert image_folders("agentnet_win_mac_18k.jsonl") == ("win_mac_images",)
    assert image_folders("other.jsonl") == ()
    src = fixture_copy("agentnet")
    gone = next((src / "win_mac_images").iterdir())
    gone.unlink()
    with pytest.raises(ImportFailed) as info:
        import_dataset("agentnet", src, tmp_path / "out")
    assert f"file not found: {gone.name} (looked in ubuntu_images/, win_mac_images/, " \
           "images/ and beside agentnet_win_mac_18k.jsonl)" in str(info.value)


def test_bad_record_named_by_line(fixture_copy, tmp_path):
    src = fixture_copy("agentnet")
    path = src / "agentnet_ubuntu_5k.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["traj"][1]["value"]["code"] = "pyautogui.hotkey()"
    lines[1] = json.dumps(record)
    lines.append("{not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportFailed) as info:
        import_dataset("agentnet", src, tmp_path / "out")
    assert "agentnet_ubuntu_5k.jsonl:2: traj[1].value.code: hotkey() needs key names" \
        in str(info.value)
    assert "agentnet_ubuntu_5k.jsonl:3: <json>:" in str(info.value)
