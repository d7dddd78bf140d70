"""AgentNet: PyAutoGUI code table, 0-1 and pixel coordinates, terminate, unsafe code refused."""

import json

import pytest

from tracer1.actions import Click, Done, Press, Scroll, Tool, Type
from tracer1.data.importers import ImportFailed, import_dataset
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.formats.agentnet import map_code
from tracer1.data.jsonl import read_split_dir


@pytest.mark.parametrize("code, expected", [
    ("pyautogui.click(x=0.5, y=0.25)", [Click(500, 250, target="t")]),
    ("pyautogui.doubleClick(0.1, 0.2)", [Click(100, 200, target="t")]),
    ("pyautogui.rightClick(x=960, y=540)", [Click(500, 500, target="t")]),  # pixels, 1920x1080
    ("pyautogui.write(message='hello')", [Type("hello")]),
    ("pyautogui.typewrite('hi')", [Type("hi")]),
    ("pyautogui.press('enter')", [Press("enter")]),
    ("pyautogui.press(['tab', 'enter'])", [Press("tab"), Press("enter")]),
    ("pyautogui.hotkey('ctrl', 'c')", [Press("ctrl+c")]),
    ("pyautogui.scroll(3)", [Scroll("up")]),
    ("pyautogui.scroll(-3)", [Scroll("down")]),
    ("pyautogui.hscroll(-2)", [Scroll("left")]),
    ("pyautogui.moveTo(x=0.5, y=0.5)", [Tool.of("move_to", {"x": 500, "y": 500})]),
    ("pyautogui.dragTo(0.1, 0.9)", [Tool.of("drag_to", {"x": 100, "y": 900})]),
    ("pyautogui.keyDown('shift')", [Tool.of("key_down", {"key": "shift"})]),
    ("computer.wait()", [Tool.of("wait")]),
    ("pyautogui.click(x=0.1, y=0.1)\npyautogui.write('a')", [Click(100, 100, target="t"),
                                                             Type("a")]),
])
def test_code_table(code, expected):
    assert map_code(code, (1920, 1080), "t", "traj[0].value.code") == expected


@pytest.mark.parametrize("code, problem", [
    ("import os; os.system('rm -rf /')", "expected pyautogui./computer. calls"),
    ("pyautogui.click(x=get_x(), y=1)", "non-literal arguments"),
    ("pyautogui.click(x=0.5", "not Python"),
    ("pyautogui.mouseDown()", "unsupported call 'mouseDown'"),
    ("pyautogui.click(x=3000, y=10)", "outside the 1920-px screen"),
])
def test_bad_code_is_refused_without_running_it(code, problem):
    with pytest.raises(FieldError) as info:
        map_code(code, (1920, 1080), None, "traj[2].value.code")
    assert problem in info.value.problem


def test_pixels_without_a_screenshot_are_an_error():
    with pytest.raises(FieldError, match="without a screenshot"):
        map_code("pyautogui.click(x=40, y=30)", None, None, "c")


def test_fixture_terminate_and_success(fixture_copy, tmp_path):
    import_dataset("agentnet", fixture_copy("agentnet"), tmp_path / "out")
    episodes = {e.episode_id: e for split in read_split_dir(tmp_path / "out").values()
                for e in split}
    renamed = episodes["agentnet/ubuntu-0001"]
    assert [s.action.verb for s in renamed.steps] == ["click", "click", "press", "type", "press",
                                                      "done"]
    assert renamed.success and renamed.family == "ubuntu"
    assert renamed.steps[0].executed["thought"] == "open files"
    # a pixel click scaled by the 160x100 screenshot
    assert episodes["agentnet/ubuntu-0002"].steps[0].action == Click(
        250, 300, target="Click at the start of the paragraph")
    assert isinstance(episodes["agentnet/ubuntu-0002"].steps[-1].action, Done)
    assert episodes["agentnet/ubuntu-0003"].success is False  # terminate(status='failure')


def test_bad_record_named_by_line(fixture_copy, tmp_path):
    src = fixture_copy("agentnet")
    path = src / "agentnet_ubuntu_sample.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["traj"][1]["value"]["code"] = "pyautogui.hotkey()"
    lines[1] = json.dumps(record)
    lines.append("{not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportFailed) as info:
        import_dataset("agentnet", src, tmp_path / "out")
    assert "agentnet_ubuntu_sample.jsonl:2: traj[1].value.code: hotkey() needs key names" \
        in str(info.value)
    assert "agentnet_ubuntu_sample.jsonl:4: <json>:" in str(info.value)
