"""Environment suites. Importing this package registers the built-in suites."""

# `tooluse` is imported for its @register_suite side effect (the suite registers its name).
from tracer1.envs import tooluse  # noqa: F401
from tracer1.envs.base import Environment, Expert, Suite, get_suite, register_suite, suite_names

__all__ = ["Environment", "Expert", "Suite", "get_suite", "register_suite", "suite_names"]
