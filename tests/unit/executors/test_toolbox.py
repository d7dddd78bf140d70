"""The toolbox never raises on model input: every problem is an `ok=False` observation."""

from __future__ import annotations

import json
import math

import pytest

from tracer1.actions import Tool
from tracer1.executors import Toolbox, default_world, tool_info
from tracer1.executors.toolbox import MAX_OUTPUT_CHARS
from tracer1.executors.tools import ToolSpec


@pytest.fixture(scope="module")
def box():
    with Toolbox() as toolbox:
        yield toolbox


def test_tools_and_signatures(box):
    assert box.names == ["calculator", "convert", "date", "search", "table"]
    text = box.describe()
    for signature in ("calculator(expression: str)", "convert(value: number, from_unit: str, "
                      "to_unit: str)", "date(op: str, date: str, days?: int, other?: str)",
                      "search(query: str)", "table(name: str, row?: str, column?: str)"):
        assert signature in text and signature in box.signatures()
    assert "\n" not in box.signatures() and len(box.signatures()) < len(text) / 3


def test_a_good_call(box):
    person = default_world().people[0]
    result = box.execute(Tool.of("search", {"query": person.name}))
    assert result.ok and person.name in result.output and person.born in result.output


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("shell", {"cmd": "ls"}, "unknown tool 'shell' (available: calculator, convert, date, "
                                 "search, table)"),
        ("", {}, "unknown tool ''"),
        ("x" * 5000, {}, "unknown tool 'xxxxxxxx"),
        (None, {}, "unknown tool 'NoneType'"),
        ("calculator", {}, "missing argument 'expression' for calculator(expression: str)"),
        ("calculator", {"expression": "1", "mode": "unsafe"}, "unexpected argument(s) 'mode'"),
        ("calculator", {"expr": "1"}, "unexpected argument(s) 'expr'"),
        ("calculator", {"expression": True}, "must be a string, got bool"),
        ("calculator", {"expression": ["1"]}, "must be a string, got list"),
        ("calculator", {"expression": "1" * 100_000}, "too long"),
        ("calculator", {"expression": "__import__('os')"}, "is not allowed"),
        ("calculator", "1+1", "arguments must be a mapping"),
        ("calculator", {f"k{i}": 1 for i in range(40)}, "too many arguments (40)"),
        ("convert", {"value": "ten", "from_unit": "km", "to_unit": "mile"}, "must be a number"),
        ("convert", {"value": "nan", "from_unit": "km", "to_unit": "mile"}, "must be a number"),
        ("convert", {"value": math.inf, "from_unit": "km", "to_unit": "mile"}, "out of range"),
        ("convert", {"value": 10**400, "from_unit": "km", "to_unit": "mile"}, "out of range"),
        ("date", {"op": "add", "date": "2000-01-01", "days": 1.5}, "must be an integer"),
        ("date", {"op": "add", "date": "2000-01-01", "days": "9" * 40}, "must be an integer"),
        ("table", {"name": "prices", "row": {"a": 1}, "column": "x"}, "must be a string"),
        ("search", {"query": "q" * 1000}, "too long"),
        ("search", {"query": "  ?! "}, "no words"),
    ],
)
def test_bad_calls_become_error_observations(box, name, args, message):
    result = box.call(name, args)
    assert result.ok is False
    assert result.output.startswith("error: ") and message in result.output
    assert len(result.output) <= MAX_OUTPUT_CHARS + 3


def test_numbers_are_accepted_as_strings_and_strings_as_numbers(box):
    assert box.call("convert", {"value": "1.5", "from_unit": "km", "to_unit": "m"}).value == 1500
    assert box.call("date", {"op": "add", "date": "2000-01-01", "days": "31"}).ok
    assert box.call("calculator", {"expression": 42}).output == "42"


def test_a_tool_bug_is_contained():
    box = Toolbox(names=["calculator"])

    def broken(expression: str):
        raise KeyError("internal")

    box._tools["calculator"] = ToolSpec("calculator", box.specs[0].params, "x", broken)
    result = box.call("calculator", {"expression": "1"})
    assert (result.ok, result.output) == (False, "error: the tool failed (KeyError)")


def test_unknown_tool_names_at_construction():
    with pytest.raises(KeyError, match="unknown tools"):
        Toolbox(names=["calculator", "browser"])


def test_tool_info_is_json_and_bounded(box):
    action = Tool("calculator", (("expression", "1" * 5000), ("x", math.nan), ("y", 10**100)))
    info = tool_info(action, box.execute(action))
    assert set(info) == {"tool", "args", "output", "ok"} and info["ok"] is False
    text = json.dumps(info, allow_nan=False)
    assert len(text) < 3000
