"""What every frozen tool is made of: a typed parameter list, a run function, a result.

Tools receive untrusted arguments written by a model. `ToolSpec.bind` checks
them against the declared parameters (missing, extra, wrong type, too long)
before the tool runs, so each tool body only sees clean values; a tool signals
a user-facing problem by raising `ToolError`, which the toolbox turns into an
error observation.

>>> def echo(text):
...     return ToolResult(True, text)
>>> spec = ToolSpec("echo", (Param("text", "str"),), "repeat text", echo)
>>> spec.signature
'echo(text: str)'
>>> spec.bind({"text": 3})
{'text': '3'}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracer1.executors.numbers import format_number, parse_number

MAX_NUMBER = 1e15  # numeric arguments beyond this are refused (no giant intermediates)
MAX_INT_ARG = 10_000_000
MAX_ARG_CHARS = 256
_NUMERIC = re.compile(r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$")
_INTEGER = re.compile(r"^\s*[-+]?[0-9]{1,12}\s*$")


class ToolError(Exception):
    """A problem with the call itself; its message becomes the observation."""


@dataclass(frozen=True)
class ToolResult:
    """What a tool call produced. `value` is the structured result (for task generation)."""

    ok: bool
    output: str
    value: Any = None


@dataclass(frozen=True)
class Param:
    """One declared argument. `kind` is "str", "number" or "int"."""

    name: str
    kind: str
    required: bool = True
    max_chars: int = MAX_ARG_CHARS

    @property
    def signature(self) -> str:
        kind = {"str": "str", "number": "number", "int": "int"}[self.kind]
        return f"{self.name}: {kind}" if self.required else f"{self.name}?: {kind}"


@dataclass(frozen=True)
class ToolSpec:
    """A named tool: its parameters, a one-line description and the function that runs it."""

    name: str
    params: tuple[Param, ...]
    doc: str
    run: Callable[..., ToolResult]
    close: Callable[[], None] | None = None

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(p.signature for p in self.params)})"

    def bind(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Check `args` against the parameters; returns clean kwargs or raises ToolError."""
        known = {p.name for p in self.params}
        extra = sorted(str(k)[:40] for k in args if k not in known)
        if extra:
            raise ToolError(f"unexpected argument(s) {', '.join(map(repr, extra))} "
                            f"for {self.signature}")
        bound: dict[str, Any] = {}
        for param in self.params:
            if param.name not in args or args[param.name] is None:
                if param.required:
                    raise ToolError(f"missing argument {param.name!r} for {self.signature}")
                continue
            bound[param.name] = _COERCE[param.kind](param, args[param.name])
        return bound


def _as_str(param: Param, value: Any) -> str:
    # Numbers are accepted for string parameters (a model writing row=2024 means "2024").
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ToolError(f"argument {param.name!r} must be a string, got {type(value).__name__}")
    text = value if isinstance(value, str) else format_number(value)
    if len(text) > param.max_chars:
        raise ToolError(f"argument {param.name!r} is too long ({len(text)} chars, "
                        f"max {param.max_chars})")
    return text


def _as_number(param: Param, value: Any) -> float | int:
    if isinstance(value, str):
        # Check the shape before float(): float() accepts "nan", "inf" and "1_000".
        if len(value) > 64 or not _NUMERIC.match(value):
            raise ToolError(f"argument {param.name!r} must be a number, got {value[:40]!r}")
        number = float(value)
        value = int(number) if number.is_integer() and abs(number) <= MAX_NUMBER else number
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"argument {param.name!r} must be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ToolError(f"argument {param.name!r} is out of range (|x| <= {MAX_NUMBER:g})")
    return value


def _as_int(param: Param, value: Any) -> int:
    if isinstance(value, str):
        if not _INTEGER.match(value):
            raise ToolError(f"argument {param.name!r} must be an integer, got {value[:40]!r}")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ToolError(f"argument {param.name!r} must be an integer, got {value!r:.40}")
    if abs(value) > MAX_INT_ARG:
        raise ToolError(f"argument {param.name!r} is out of range (|x| <= {MAX_INT_ARG})")
    return value


_COERCE: dict[str, Callable[[Param, Any], Any]] = {
    "str": _as_str,
    "number": _as_number,
    "int": _as_int,
}

__all__ = ["Param", "ToolError", "ToolResult", "ToolSpec", "format_number", "parse_number",
           "register_tool"]


# A factory builds a tool for one toolbox: tools that hold state (the search
# index) get a fresh instance per toolbox, stateless ones ignore the world.
ToolFactory = Callable[[Any], ToolSpec]
TOOL_FACTORIES: dict[str, ToolFactory] = {}


def register_tool(name: str) -> Callable[[ToolFactory], ToolFactory]:
    """Decorator: make a tool factory available to every `Toolbox` by name."""

    def deco(factory: ToolFactory) -> ToolFactory:
        if name in TOOL_FACTORIES:
            raise ValueError(f"tool {name!r} registered twice")
        TOOL_FACTORIES[name] = factory
        return factory

    return deco
