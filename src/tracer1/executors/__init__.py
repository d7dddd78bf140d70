"""Frozen tool agents: they turn a planner's action into an executed effect.

Only the tool executor lives here so far: `Toolbox` runs `Tool` actions
against the fixed synthetic world in `executors.world`.
"""

from tracer1.executors.toolbox import Toolbox, tool_info
from tracer1.executors.tools import ToolError, ToolResult, ToolSpec, format_number
from tracer1.executors.world import World, default_world

__all__ = [
    "ToolError",
    "ToolResult",
    "ToolSpec",
    "Toolbox",
    "World",
    "default_world",
    "format_number",
    "tool_info",
]
