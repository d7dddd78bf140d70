"""`PlannerModel`: the pyfunc `PythonModel` wrapping a trained planner directory.

This module subclasses `mlflow.pyfunc.PythonModel`, so importing it imports
MLflow (seconds). Import it only inside functions — `tracer1.registry.pyfunc`
does, and re-exports the class lazily. A logged model builds it from
`model_code.py` (models from code, no pickle) with the `tracer1` package shipped
beside it as code, so a registered version loads with no `tracer1` installed.
A bad request raises an `MlflowException` (INVALID_PARAMETER_VALUE) with the
offending row and field, which the scoring server returns as a 400.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

MODEL_ARTIFACT = "model"
"""Key of the planner directory in the pyfunc's `artifacts`."""


class PlannerModel(mlflow.pyfunc.PythonModel):
    """Serves `tracer1.policy.load_agent(<model dir>)`: one greedy plan text per input row."""

    def __init__(self) -> None:
        self.agent: Any = None

    def load_context(self, context: Any) -> None:
        # Looked up on the module at call time (not imported by name) so a test
        # can monkeypatch `tracer1.policy.load_agent` with a double.
        import tracer1.policy

        self.agent = tracer1.policy.load_agent(context.artifacts[MODEL_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[str]:
        """Rows of (instruction, observation, history) → one greedy `<plan>` text per row."""
        from tracer1.registry.pyfunc import requests_from_frame

        if self.agent is None:
            raise RuntimeError("PlannerModel.predict before load_context")
        try:
            requests = requests_from_frame(model_input)
        except ValueError as exc:
            # The scoring server answers any other exception with a generic "unexpected
            # error"; an MlflowException reaches the client with its message and a 400.
            from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException

            raise MlflowException(f"invalid planner input: {exc}",
                                  error_code=INVALID_PARAMETER_VALUE) from exc
        return [texts[0] if texts else "" for texts in self.agent.plan(requests, sample=False)]
