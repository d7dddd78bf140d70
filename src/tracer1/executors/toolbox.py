"""The tool executor: the frozen tool agent that runs a planner's `Tool` actions.

`Toolbox.execute` never raises on model input. Whatever the call (unknown
tool, missing/extra/ill-typed arguments, hostile expressions, huge strings),
the result is a `ToolResult`; problems come back as ``ok=False`` with an
``error: ...`` message the planner can read and recover from.

>>> from tracer1.actions import Tool
>>> box = Toolbox()
>>> box.execute(Tool.of("calculator", {"expression": "6 * 7"}))
ToolResult(ok=True, output='42', value=42)
>>> print(box.execute(Tool.of("shell", {"cmd": "ls"})).output)
error: unknown tool 'shell' (available: calculator, convert, date, search, table)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from tracer1.actions import Tool
from tracer1.executors.tools import TOOL_FACTORIES, ToolError, ToolResult, ToolSpec
from tracer1.executors.world import World, default_world

MAX_OUTPUT_CHARS = 2_000
MAX_ARGS = 16
MAX_INFO_ARG_CHARS = 512  # what the trajectory keeps of each argument


class Toolbox:
    """A set of frozen tools over one world. Stateless between calls; `close()` frees the index."""

    def __init__(self, world: World | None = None, names: Iterable[str] | None = None):
        world = world or default_world()
        wanted = set(TOOL_FACTORIES) if names is None else set(names)
        unknown = wanted - set(TOOL_FACTORIES)
        if unknown:
            raise KeyError(f"unknown tools {sorted(unknown)} (known: {sorted(TOOL_FACTORIES)})")
        self._tools: dict[str, ToolSpec] = {
            name: TOOL_FACTORIES[name](world) for name in sorted(wanted)
        }

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    @property
    def specs(self) -> list[ToolSpec]:
        return list(self._tools.values())

    def describe(self) -> str:
        """One line per tool: signature and what it does (shown to the planner)."""
        return "\n".join(f"- {spec.signature}: {spec.doc}" for spec in self._tools.values())

    def signatures(self) -> str:
        """The tools' signatures on one line: the reminder shown once the planner has started."""
        return "; ".join(spec.signature for spec in self._tools.values())

    def call(self, name: Any, args: Any) -> ToolResult:
        """Run tool `name` with `args`; every failure is an ``ok=False`` result."""
        try:
            result = self._call(name, args)
        except ToolError as exc:
            result = ToolResult(False, f"error: {exc}")
        except Exception as exc:  # noqa: BLE001 - a tool bug must not end the episode
            result = ToolResult(False, f"error: the tool failed ({type(exc).__name__})")
        if len(result.output) > MAX_OUTPUT_CHARS:
            result = ToolResult(result.ok, result.output[:MAX_OUTPUT_CHARS] + "...", result.value)
        return result

    def _call(self, name: Any, args: Any) -> ToolResult:
        spec = self._tools.get(name) if isinstance(name, str) else None
        if spec is None:
            shown = name[:40] if isinstance(name, str) else type(name).__name__
            raise ToolError(f"unknown tool {shown!r} (available: {', '.join(self._tools)})")
        if not isinstance(args, Mapping):
            raise ToolError(f"arguments must be a mapping, got {type(args).__name__}")
        if len(args) > MAX_ARGS:
            raise ToolError(f"too many arguments ({len(args)}) for {spec.signature}")
        return spec.run(**spec.bind(args))

    def execute(self, action: Tool) -> ToolResult:
        return self.call(action.name, action.kwargs)

    def close(self) -> None:
        for spec in self._tools.values():
            if spec.close is not None:
                spec.close()

    def __enter__(self) -> Toolbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_safe(value: Any) -> Any:
    """Arguments as the trajectory stores them: JSON values, bounded in size."""
    if isinstance(value, str):
        return value[:MAX_INFO_ARG_CHARS]
    if isinstance(value, bool | int) and not (isinstance(value, int) and value.bit_length() > 64):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return repr(value)[:MAX_INFO_ARG_CHARS]


def tool_info(action: Tool, result: ToolResult) -> dict[str, Any]:
    """The `info` of an executed tool call: {"tool", "args", "output", "ok"} (JSON-serialisable)."""
    return {
        "tool": str(action.name)[:MAX_INFO_ARG_CHARS],
        "args": {str(k)[:64]: _json_safe(v) for k, v in action.args[:MAX_ARGS]},
        "output": result.output,
        "ok": result.ok,
    }
