"""The action language: typed actions, one canonical text form, one strict parser.

Every stage speaks this language: experts write it, the planner emits it, the
frozen tool agents execute it and the scorers compare it. Coordinates are
integers on a 0-1000 grid relative to the screen so one vocabulary serves every
screen size.

>>> plan = format_plan([Click(312, 540, target="Submit"), Type("alice"), Done()])
>>> print(plan)
<plan>
click(x=312, y=540, target="Submit")
type(text="alice")
done()
</plan>
>>> parse_plan(plan).actions == (Click(312, 540, target="Submit"), Type("alice"), Done())
True

`parse_plan` never raises: model output is untrusted input, so every problem is
returned as a `ParseError` value that the format reward can score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracer1._plan_lexer import LexError, Value, find_block, lex_call

GRID = 1000  # coordinates live on [0, GRID] in both axes
MAX_PLAN_CHARS = 16_384  # bound the parser's work on hostile model output
MAX_PLAN_ACTIONS = 64
MAX_TEXT_CHARS = 2_048  # any one string argument
MAX_TOOL_ARGS = 16

SCROLL_DIRECTIONS = ("up", "down", "left", "right")

ArgValue = str | int | float | bool


@dataclass(frozen=True)
class Box:
    """An axis-aligned box on the 0-1000 grid (inclusive edges)."""

    left: int
    top: int
    right: int
    bottom: int

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom

    @property
    def center(self) -> tuple[int, int]:
        return (self.left + self.right) // 2, (self.top + self.bottom) // 2

    def to_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]

    @classmethod
    def from_list(cls, values: Iterable[int]) -> Box:
        left, top, right, bottom = (int(v) for v in values)
        return cls(left, top, right, bottom)


# `target` is a short element description ("Submit button"); it is part of the
# text form. `box` is ground-truth annotation carried by *reference* actions
# (the target element's box) and is deliberately excluded from the text form
# and from equality, so parse(format(a)) == a holds for annotated actions too.


@dataclass(frozen=True)
class Click:
    x: int
    y: int
    target: str | None = None
    box: Box | None = field(default=None, compare=False, repr=False)

    verb = "click"


@dataclass(frozen=True)
class Type:
    text: str
    target: str | None = None
    box: Box | None = field(default=None, compare=False, repr=False)

    verb = "type"


@dataclass(frozen=True)
class Press:
    key: str

    verb = "press"


@dataclass(frozen=True)
class Scroll:
    direction: str
    target: str | None = None
    box: Box | None = field(default=None, compare=False, repr=False)

    verb = "scroll"


@dataclass(frozen=True)
class Select:
    text: str
    target: str | None = None
    box: Box | None = field(default=None, compare=False, repr=False)

    verb = "select"


@dataclass(frozen=True)
class Tool:
    """A tool call. `args` is a tuple of (key, value) pairs sorted by key (hashable)."""

    name: str
    args: tuple[tuple[str, ArgValue], ...] = ()

    verb = "tool"

    @classmethod
    def of(cls, name: str, args: Mapping[str, ArgValue] | None = None) -> Tool:
        return cls(name, tuple(sorted((args or {}).items())))

    @property
    def kwargs(self) -> dict[str, ArgValue]:
        return dict(self.args)


@dataclass(frozen=True)
class Answer:
    text: str

    verb = "answer"


@dataclass(frozen=True)
class Done:
    verb = "done"


Action = Click | Type | Press | Scroll | Select | Tool | Answer | Done
ACTION_TYPES: dict[str, type] = {
    cls.verb: cls for cls in (Click, Type, Press, Scroll, Select, Tool, Answer, Done)
}
GUI_ACTIONS = (Click, Type, Scroll, Select)  # the ones that may carry target/box
TERMINAL_ACTIONS = (Answer, Done)


@dataclass(frozen=True)
class ParseError:
    """One problem found in model output. `line` is 1-based within the input, 0 = whole input."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Parsed:
    actions: tuple[Action, ...]
    errors: tuple[ParseError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _fmt_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _fmt_value(value: ArgValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite tool argument {value!r}")
    return json.dumps(value, ensure_ascii=False)


def format_action(action: Action) -> str:
    """The canonical one-line text form of `action`.

    >>> format_action(Tool.of("calculator", {"expression": "2+3"}))
    'tool(name="calculator", args={"expression": "2+3"})'
    """
    parts: list[str] = []
    match action:
        case Click(x=x, y=y):
            parts = [f"x={x}", f"y={y}"]
        case Type(text=t) | Select(text=t) | Answer(text=t):
            parts = [f"text={_fmt_str(t)}"]
        case Press(key=k):
            parts = [f"key={_fmt_str(k)}"]
        case Scroll(direction=d):
            parts = [f"direction={_fmt_str(d)}"]
        case Tool(name=n, args=a):
            body = ", ".join(f"{_fmt_str(k)}: {_fmt_value(v)}" for k, v in a)
            parts = [f"name={_fmt_str(n)}", "args={" + body + "}"]
        case Done():
            parts = []
        case _:
            raise TypeError(f"not an action: {action!r}")
    target = getattr(action, "target", None)
    if target is not None:
        parts.append(f"target={_fmt_str(target)}")
    return f"{action.verb}({', '.join(parts)})"


def format_plan(actions: Iterable[Action]) -> str:
    """The canonical `<plan>` block, one action per line."""
    lines = "".join(format_action(a) + "\n" for a in actions)
    return f"<plan>\n{lines}</plan>"


# --- parsing: syntax lives in `_plan_lexer`, meaning (verbs, keywords, ranges) lives here.

Check = Callable[[str, Value], Any]


def _kind(value: Value) -> str:
    return "an object" if isinstance(value, tuple) else f"a {type(value).__name__}"


def _text(key: str, value: Value) -> str:
    if not isinstance(value, str):
        raise LexError(f"{key} must be a string, got {_kind(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise LexError(f"{key} is {len(value)} characters, over the {MAX_TEXT_CHARS} limit")
    return value


def _coord(key: str, value: Value) -> int:
    if type(value) is not int:  # not isinstance: JSON `true` is a bool, and bool is an int
        raise LexError(f"{key} must be an integer, got {_kind(value)}")
    if not 0 <= value <= GRID:
        raise LexError(f"{key}={value} is outside the 0..{GRID} grid")
    return value


def _direction(key: str, value: Value) -> str:
    if _text(key, value) not in SCROLL_DIRECTIONS:
        raise LexError(f"{key} must be one of {', '.join(SCROLL_DIRECTIONS)}, got {value!r}")
    return value  # type: ignore[return-value]


def _tool_args(key: str, value: Value) -> tuple[tuple[str, ArgValue], ...]:
    if not isinstance(value, tuple):
        raise LexError(f"{key} must be an object {{...}}, got {_kind(value)}")
    if len(value) > MAX_TOOL_ARGS:
        raise LexError(f"{len(value)} tool args, over the {MAX_TOOL_ARGS} limit")
    seen: set[str] = set()
    for name, arg in value:
        if _text(f"{key} key", name) in seen:
            raise LexError(f"duplicate tool arg {name!r}")
        seen.add(name)
        if isinstance(arg, str):
            _text(f"{key}[{name!r}]", arg)
    return tuple(sorted(value, key=lambda pair: pair[0]))  # the Tool.of order


_TARGET: dict[str, Check] = {"target": _text}

# verb -> (required keywords, optional keywords). Keywords are the dataclass field
# names, so a checked keyword dict builds the action directly.
_SCHEMAS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "click": ({"x": _coord, "y": _coord}, _TARGET),
    "type": ({"text": _text}, _TARGET),
    "press": ({"key": _text}, {}),
    "scroll": ({"direction": _direction}, _TARGET),
    "select": ({"text": _text}, _TARGET),
    "tool": ({"name": _text, "args": _tool_args}, {}),
    "answer": ({"text": _text}, {}),
    "done": ({}, {}),
}


def _build(verb: str, pairs: list[tuple[str, Value]]) -> Action:
    schema = _SCHEMAS.get(verb)
    if schema is None:
        raise LexError(f"unknown verb {verb[:40]!r} (known: {', '.join(_SCHEMAS)})")
    required, optional = schema
    kwargs: dict[str, Any] = {}
    for key, value in pairs:
        check = required.get(key) or optional.get(key)
        if check is None:
            raise LexError(f"{verb}() has no keyword {key[:40]!r}")
        if key in kwargs:
            raise LexError(f"duplicate keyword {key!r}")
        kwargs[key] = check(key, value)
    missing = [key for key in required if key not in kwargs]
    if missing:
        raise LexError(f"{verb}() is missing {', '.join(missing)}")
    return ACTION_TYPES[verb](**kwargs)


def _parse_line(line: str) -> Action:
    return _build(*lex_call(line))


def parse_action(text: str) -> Action | ParseError:
    """Parse one action line; a ParseError (line 0) instead of raising.

    >>> parse_action('press(key="enter")')
    Press(key='enter')
    >>> parse_action('click(x=1200, y=5)')
    ParseError(line=0, message='x=1200 is outside the 0..1000 grid')
    """
    if not isinstance(text, str):
        return ParseError(0, f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_PLAN_CHARS:
        return ParseError(0, f"input is {len(text)} characters, over the {MAX_PLAN_CHARS} limit")
    line = text.strip()
    if "\n" in line:
        return ParseError(0, "an action must fit on one line")
    try:
        return _parse_line(line)
    except LexError as exc:
        return ParseError(0, str(exc))


def parse_plan(text: str) -> Parsed:
    """Parse the first `<plan>` block. Never raises, whatever `text` is.

    Bad lines are skipped with an error and good lines still parse, so a partly
    wrong forecast keeps partial credit while the format reward sees the errors.
    Text before `<plan>` and after `</plan>` is ignored; a second `<plan>` block is
    ignored *and* reported. Without `</plan>` the lines up to the end still parse.

    >>> parsed = parse_plan('thinking...\\n<plan>\\nclick(x=1, y=2)\\nclik()\\n</plan>')
    >>> parsed.actions
    (Click(x=1, y=2, target=None),)
    >>> [str(e) for e in parsed.errors]
    ["line 4: unknown verb 'clik' (known: click, type, press, scroll, select, tool, answer, done)"]
    """
    if not isinstance(text, str):
        return Parsed((), (ParseError(0, f"expected a string, got {type(text).__name__}"),))
    if len(text) > MAX_PLAN_CHARS:
        # Rejected before any scan: the work done on hostile output stays bounded.
        message = f"input is {len(text)} characters, over the {MAX_PLAN_CHARS} limit"
        return Parsed((), (ParseError(0, message),))
    try:
        return _parse_block(text)
    except Exception as exc:  # noqa: BLE001
        # Last-resort guard: a parser bug must cost one completion its format reward,
        # not crash a training run. The fuzz test asserts this never fires.
        return Parsed((), (ParseError(0, f"internal parser error: {exc!r}"),))


def _parse_block(text: str) -> Parsed:
    block = find_block(text)
    actions: list[Action] = []
    errors = [ParseError(line, message) for line, message in block.problems]
    for line_no, line in block.lines:
        if len(actions) == MAX_PLAN_ACTIONS:
            errors.append(
                ParseError(line_no, f"more than {MAX_PLAN_ACTIONS} actions: rest ignored")
            )
            break
        try:
            actions.append(_parse_line(line))
        except LexError as exc:
            errors.append(ParseError(line_no, str(exc)))
    errors.sort(key=lambda e: e.line)  # stable: whole-input problems (line 0) first
    return Parsed(tuple(actions), tuple(errors))


__all__ = [
    "ACTION_TYPES",
    "GRID",
    "MAX_PLAN_ACTIONS",
    "MAX_PLAN_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_TOOL_ARGS",
    "Action",
    "Answer",
    "ArgValue",
    "Box",
    "Click",
    "Done",
    "Parsed",
    "ParseError",
    "Press",
    "Scroll",
    "Select",
    "Tool",
    "Type",
    "format_action",
    "format_plan",
    "parse_action",
    "parse_plan",
]
