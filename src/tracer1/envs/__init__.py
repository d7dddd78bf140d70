"""Environment suites. Importing this package registers the built-in suites."""

# The suites are imported for their @register_suite side effect. `miniwob` imports no
# browser code until a suite is used, so importing it costs nothing without Chromium.
from tracer1.envs import miniwob_suite, tooluse  # noqa: F401
from tracer1.envs.base import Environment, Expert, Suite, get_suite, register_suite, suite_names

__all__ = ["Environment", "Expert", "Suite", "get_suite", "register_suite", "suite_names"]
