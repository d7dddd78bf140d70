"""Frozen tool agents: they turn a planner's action into an executed effect.

* tool: `Toolbox` runs `Tool` actions against the fixed synthetic world in
  `executors.world`;
* GUI (`executors.gui`): `PassthroughExecutor` (the planner's point),
  `GroundingExecutor` (the element the action's `target` describes) and
  `HttpGroundingExecutor` (`executors.grounding_http`, a served grounding model),
  put in front of an environment by `ExecutingEnv`, chosen by `GuiExecutorConfig`.
"""

from tracer1.executors.grounding_http import HttpGroundingExecutor
from tracer1.executors.gui import (
    ExecutingEnv,
    GroundingExecutor,
    GuiExecutor,
    GuiExecutorConfig,
    PassthroughExecutor,
    make_gui_executor,
)
from tracer1.executors.toolbox import Toolbox, tool_info
from tracer1.executors.tools import ToolError, ToolResult, ToolSpec, format_number
from tracer1.executors.world import World, default_world

__all__ = [
    "ExecutingEnv",
    "GroundingExecutor",
    "GuiExecutor",
    "GuiExecutorConfig",
    "HttpGroundingExecutor",
    "PassthroughExecutor",
    "ToolError",
    "ToolResult",
    "ToolSpec",
    "Toolbox",
    "World",
    "default_world",
    "format_number",
    "make_gui_executor",
    "tool_info",
]
