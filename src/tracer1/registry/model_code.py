"""Model-from-code entry point MLflow runs to build the pyfunc (never imported by tracer1).

`log_planner_model` passes this file's path as `python_model`, so MLflow stores
the code instead of a cloudpickle of the instance, with no unpickling of arbitrary
code; MLflow puts the model's ``code/`` (the shipped `tracer1` package) on `sys.path`
before it runs this file, so the import below needs no installed `tracer1`.
"""

from mlflow.models import set_model

from tracer1.registry.planner_model import PlannerModel

set_model(PlannerModel())
