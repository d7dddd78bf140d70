"""The planner: prompt rendering (and, later, the tiny model, HF base + LoRA, and the agent)."""
