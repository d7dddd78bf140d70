"""The planner: prompting, the tiny model and its tokenizer, HF base + LoRA, and the agent.

torch and transformers are imported inside the functions that need them, so
importing this package stays cheap.
"""

from tracer1.policy.agent import Agent, load_agent
from tracer1.policy.base import Planner, PlanRequest

__all__ = ["Agent", "PlanRequest", "Planner", "load_agent"]
