"""Model-from-code entry point MLflow runs to build the pyfunc (never imported by tracer1).

`log_planner_model` passes this file's path as `python_model`, so MLflow stores
the code instead of a cloudpickle of the instance: the registered version then
loads under any Python that has `tracer1`, with no unpickling of arbitrary code.
"""

from mlflow.models import set_model

from tracer1.registry.planner_model import PlannerModel

set_model(PlannerModel())
