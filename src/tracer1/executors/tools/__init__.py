"""The frozen tools. Importing this package registers every built-in tool."""

from tracer1.executors.tools import calculator, dates, knowledge, tables, units  # noqa: F401
from tracer1.executors.tools.base import (
    TOOL_FACTORIES,
    Param,
    ToolError,
    ToolResult,
    ToolSpec,
    format_number,
    register_tool,
)

__all__ = [
    "TOOL_FACTORIES",
    "Param",
    "ToolError",
    "ToolResult",
    "ToolSpec",
    "format_number",
    "register_tool",
]
