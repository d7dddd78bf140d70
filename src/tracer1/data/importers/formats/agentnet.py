"""AgentNet (xlangai/AgentNet, OpenCUA) computer-use trajectories -> our episodes.

Layout read (the Hub release): ``agentnet_ubuntu_5k.jsonl`` with its screenshots in
``ubuntu_images/``, ``agentnet_win_mac_18k.jsonl`` with ``win_mac_images/`` (each
folder unzipped from the release's split zip, as its card says). One task per line:
``task_id``, ``instruction``, ``natural_language_task``, ``actual_task``,
``task_completed``, ``alignment_score``, ``efficiency_score``, ``task_difficulty``,
``reason`` and ``traj`` [{``index``, ``image`` (a file name), ``value``
{``observation``, ``thought``, ``action``, ``code``, ``last_step_correct``,
``last_step_redundant``, ``reflection``}}]. An image is looked up in the images folder
named after the JSONL (``agentnet_<os>_*.jsonl`` -> ``<os>_images/``), then in
``ubuntu_images/``, ``win_mac_images/``, ``images/`` and beside the JSONL.

``code`` is the PyAutoGUI-style Python OpenCUA's data processor writes
(``pyautogui.click(x=0.4546, y=0.2682)``, ``pyautogui.press(keys=['enter'])``,
``pyautogui.hotkey(keys=['ctrl', 'c'])``, ``computer.tripleClick(x=..., y=...)``,
``computer.terminate(status='success')``). Its coordinates are always on the 0-1
scale: the processor divides by the screen size and clamps with ``max(0, min(v, 1))``,
which leaves the *integers* 0 and 1 at the edges; they are 0.0 and 1.0 (grid 0 and
1000), never pixels. A coordinate outside 0..1 is a record error.

Code is parsed with `ast`, never executed. Each call becomes one step (a step whose
code holds several calls yields several steps on the same screenshot):

| PyAutoGUI / computer call              | ours                                          |
|----------------------------------------|-----------------------------------------------|
| click / doubleClick / rightClick /     | click(x, y, target=the step's action text)    |
| middleClick / tripleClick (x, y)       | (source verb kept in `executed`)              |
| write / typewrite (message)            | type(text)                                    |
| press (keys=[...]) / press (key)       | press(key), one step per key                  |
| hotkey (keys=[...]) / hotkey (k1, ...) | press(key="k1+k2+...")                        |
| scroll (clicks) / hscroll (clicks)     | scroll(up / down) / scroll(right / left) (1)  |
| moveTo / dragTo (x, y)                 | tool(name="move_to" / "drag_to", x, y) (2)    |
| keyDown / keyUp (key)                  | tool(name="key_down" / "key_up", key) (2)     |
| computer.wait / time.sleep             | tool(name="wait", args={})                    |
| computer.terminate (status)            | done(); `success` from status / task_completed |
| (no terminate)                         | done() appended, without a screenshot         |

(1) PyAutoGUI's positive clicks scroll up (and right). (2) No hover, drag or held
key in the language: they travel as tool calls named after the source verb,
coordinates on the grid, so nothing is guessed and nothing is lost.

Anything else is a record error naming the step's code, not a silent guess.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracer1.actions import Action, Click, Done, Press, Scroll, Tool, Type
from tracer1.data.importers.draft import Draft, DraftStep
from tracer1.data.importers.errors import FieldError, RecordError
from tracer1.data.importers.fields import check, get, inside, text
from tracer1.data.importers.grid import unit_point
from tracer1.data.importers.registry import Record, register_importer
from tracer1.data.importers.sources import file_records, find_files

INSTRUCTION_FIELDS = ("instruction", "natural_language_task", "task")
IMAGE_FOLDERS = ("ubuntu_images", "win_mac_images", "images")
_MODULES = ("pyautogui", "computer", "time")


class Call:
    """One parsed call: ``pyautogui.click(x=0.5, y=0.2)`` -> name 'click', args, kwargs."""

    def __init__(self, name: str, args: list[Any], kwargs: dict[str, Any]):
        self.name, self.args, self.kwargs = name, args, kwargs

    def arg(self, index: int, key: str, default: Any = None) -> Any:
        if key in self.kwargs:
            return self.kwargs[key]
        return self.args[index] if index < len(self.args) else default


def parse_code(code: str, where: str) -> list[Call]:
    """The calls of one step's code, in order (literal arguments only; nothing runs).

    >>> [c.name for c in parse_code("pyautogui.click(x=0.1, y=0.2)\\npyautogui.write('hi')", "c")]
    ['click', 'write']
    """
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as exc:
        raise FieldError(where, f"not Python: {exc.msg} (line {exc.lineno})") from None
    calls = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        func = getattr(call, "func", None)
        if not (isinstance(call, ast.Call) and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name) and func.value.id in _MODULES):
            raise FieldError(where, f"expected pyautogui./computer. calls, got "
                                    f"{ast.unparse(node)[:60]!r}")
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        except ValueError:
            raise FieldError(where, f"non-literal arguments in {ast.unparse(call)[:60]!r}") \
                from None
        calls.append(Call(func.attr, args, kwargs))
    return calls


def _xy(call: Call, where: str) -> tuple[int, int]:
    """The call's point on the grid; AgentNet's coordinates are always on the 0-1 scale
    (an integer 0 or 1 is the processor's clamp at the screen edge, not a pixel)."""
    x, y = call.arg(0, "x"), call.arg(1, "y")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        raise FieldError(where, f"{call.name}() needs numeric x and y, got x={x!r}, y={y!r}")
    return unit_point(x, y, where)


CallFn = Callable[[Call, str | None, str], list[Action]]
_CALLS: dict[str, CallFn] = {}


def _maps(*names: str) -> Callable[[CallFn], CallFn]:
    def deco(fn: CallFn) -> CallFn:
        _CALLS.update(dict.fromkeys(names, fn))
        return fn

    return deco


@_maps("click", "doubleClick", "rightClick", "tripleClick", "middleClick")
def _click(call, target, where):
    return [Click(*_xy(call, where), target=target)]


@_maps("write", "typewrite")
def _write(call, target, where):
    message = call.arg(0, "message")
    return [Type(text(check(message, str, f"{where}.message"), f"{where}.message"))]


@_maps("press")
def _press(call, target, where):
    keys = call.arg(0, "keys")
    keys = [keys] if isinstance(keys, str) else keys
    if not (isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys)):
        raise FieldError(where, f"press() needs a key or a list of keys, got {keys!r}")
    return [Press(k) for k in keys]


@_maps("hotkey")
def _hotkey(call, target, where):
    keys = call.kwargs.get("keys", call.args)
    if not (keys and all(isinstance(k, str) for k in keys)):
        raise FieldError(where, f"hotkey() needs key names, got {keys!r}")
    return [Press("+".join(keys))]


@_maps("scroll", "hscroll")
def _scroll(call, target, where):
    clicks = call.arg(0, "clicks")
    if not isinstance(clicks, int | float) or isinstance(clicks, bool) or clicks == 0:
        raise FieldError(where, f"{call.name}() needs a non-zero number of clicks, got {clicks!r}")
    if call.name == "hscroll":
        return [Scroll("right" if clicks > 0 else "left")]
    return [Scroll("up" if clicks > 0 else "down")]  # PyAutoGUI: positive clicks scroll up


@_maps("moveTo", "dragTo")
def _move(call, target, where):
    x, y = _xy(call, where)
    return [Tool.of("move_to" if call.name == "moveTo" else "drag_to", {"x": x, "y": y})]


@_maps("keyDown", "keyUp")
def _key_hold(call, target, where):
    key = check(call.arg(0, "key"), str, f"{where}.key")
    return [Tool.of("key_down" if call.name == "keyDown" else "key_up", {"key": key})]


@_maps("wait", "sleep")
def _wait(call, target, where):
    return [Tool.of("wait")]


def map_code(code: str, target: str | None, where: str) -> list[Action]:
    """One step's code -> our actions (`computer.terminate` is handled by the caller).

    >>> map_code("pyautogui.hotkey(keys=['ctrl', 'c'])", None, "traj[0].value.code")
    [Press(key='ctrl+c')]
    >>> map_code("pyautogui.click(x=0.25, y=0.5)", "OK button", "c")
    [Click(x=250, y=500, target='OK button')]
    >>> map_code("pyautogui.dragTo(x=1, y=0.5, button='left')", None, "c")
    [Tool(name='drag_to', args=(('x', 1000), ('y', 500)))]
    """
    actions: list[Action] = []
    for call in parse_code(code, where):
        fn = _CALLS.get(call.name)
        if fn is None:
            raise FieldError(where, f"unsupported call {call.name!r} (known: "
                                    f"{', '.join(sorted(_CALLS))}, terminate)")
        actions += fn(call, target, where)
    return actions


def image_folders(record_file: str) -> tuple[str, ...]:
    """The images folder a JSONL's name points at: ``agentnet_win_mac_18k.jsonl`` ->
    ``win_mac_images`` (none for other names).

    >>> image_folders("agentnet_ubuntu_5k.jsonl")
    ('ubuntu_images',)
    """
    stem = Path(record_file).stem
    return tuple(f"{os}_images" for os in ("win_mac", "ubuntu") if f"_{os}" in stem)


def _family(record: dict[str, Any], file_name: str) -> str:
    for key in ("os", "platform"):
        if isinstance(record.get(key), str) and record[key]:
            return record[key]
    name = file_name.lower()
    return "ubuntu" if "ubuntu" in name else "windows_macos" if "win" in name else "desktop"


@register_importer("agentnet")
class AgentNetImporter:
    """``*.jsonl`` task files + ``images/`` (see the module docstring)."""

    name = "agentnet"

    def records(self, root: Path) -> Iterator[Record | RecordError]:
        for path in find_files(root, "*.jsonl", "*.json"):
            yield from file_records(root, path, shape="list")

    @staticmethod
    def _image(root: Path, record_file: str, name: str, where: str) -> Path:
        beside = (root / record_file).parent
        folders = [beside / f for f in (*image_folders(record_file), *IMAGE_FOLDERS)]
        for base in dict.fromkeys([*folders, beside]):  # in order, once each
            if not base.is_dir():
                continue
            try:
                return inside(base, name, where)
            except FieldError as exc:
                if "escapes" in exc.problem:
                    raise
        raise FieldError(where, f"file not found: {name} (looked in "
                                f"{', '.join(f'{f}/' for f in IMAGE_FOLDERS)} and beside "
                                f"{record_file})")

    def convert(self, record: Record, root: Path) -> Draft:
        task = check(record.data, dict, "<record>")
        instruction = next((task[k] for k in INSTRUCTION_FIELDS
                            if isinstance(task.get(k), str) and task[k].strip()), None)
        if instruction is None:
            raise FieldError("instruction", f"missing (looked for {', '.join(INSTRUCTION_FIELDS)})")
        traj = get(task, "traj", list)
        steps: list[DraftStep] = []
        status: str | None = None
        for i, raw in enumerate(traj):
            where = f"traj[{i}]"
            value = get(raw, "value", dict, where=where)
            code = get(value, "code", str, where=f"{where}.value")
            image_name = get(raw, "image", str, where=where, default=None)
            shot = (self._image(root, record.file, image_name, f"{where}.image")
                    if image_name else None)
            described = value.get("action") if isinstance(value.get("action"), str) else None
            executed = {"source_action": code, "thought": value.get("thought")}
            calls = parse_code(code, f"{where}.value.code")
            if calls and calls[-1].name == "terminate":
                status = str(calls[-1].arg(0, "status", "success"))
                body = "\n".join(ast.unparse(ast.parse(code).body[j])
                                 for j in range(len(calls) - 1))
                if i != len(traj) - 1:
                    raise FieldError(f"{where}.value.code", "terminate() before the last step")
            else:
                body = code
            for action in (map_code(body, described or None, f"{where}.value.code")
                           if body.strip() else []):
                steps.append(DraftStep(action, screenshot=shot, executed=executed))
            if status is not None:
                steps.append(DraftStep(Done(), screenshot=shot, executed=executed))
        if status is None:
            steps.append(DraftStep(Done()))
        completed = task.get("task_completed")
        success = completed if isinstance(completed, bool) else status in (None, "success")
        source_id = get(task, "task_id", (str, int), default=None)
        if source_id is None:
            raise FieldError("task_id", "missing required field")
        return Draft(
            source_id=str(source_id), family=_family(task, record.file),
            instruction=instruction, steps=tuple(steps), success=success,
            meta={"status": status, "alignment_score": task.get("alignment_score"),
                  "efficiency_score": task.get("efficiency_score")},
        )


__all__ = ["AgentNetImporter", "map_code", "parse_code"]
