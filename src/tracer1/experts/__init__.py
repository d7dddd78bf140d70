"""Scripted experts: they give the reference action from any state of their suite."""

from tracer1.experts.tooluse import ToolUseExpert

__all__ = ["ToolUseExpert"]
