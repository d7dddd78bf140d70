"""The planner as an MLflow pyfunc model: log it, and load it back as a `Planner`.

Input rows have three columns — ``instruction`` (str), ``observation`` (the
JSON of `tracer1.trajectory.observation_to_json`, or plain text) and
``history`` (the last actions in their canonical text) — and the output is one
greedy `<plan>` text per row, so a served champion answers the same request
the closed-loop harness makes. `load_planner` unwraps the pyfunc back into the
`Agent`, so `evaluate` scores the registry champion with the same harness as a
fresh candidate.

MLflow is imported inside the functions; `PlannerModel` (a `PythonModel`
subclass, hence MLflow at import) is re-exported lazily from `planner_model`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.actions import Action, ParseError, parse_action
from tracer1.policy.base import Planner, PlanRequest
from tracer1.trajectory import (
    Observation,
    SchemaError,
    observation_from_json,
    observation_to_json,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo

COLUMNS = ("instruction", "observation", "history")
MODEL_CODE = Path(__file__).with_name("model_code.py")
"""The models-from-code script MLflow stores instead of a pickle (read by path, not imported)."""

# Pinned to what is installed, so MLflow never infers requirements (that loads the
# model in a subprocess and may reach for the network) and `load_model` sees no mismatch.
# tracer1 itself is not on a public index: serve with env_manager="local" or an image
# that has the package (the pipeline's Dockerfile).
_REQUIREMENTS = ("tracer1", "mlflow", "torch", "transformers", "tokenizers", "peft", "pandas")


def __getattr__(name: str) -> Any:
    if name == "PlannerModel":
        from tracer1.registry.planner_model import PlannerModel

        return PlannerModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------ input rows


def _observation(value: Any, row: int) -> Observation:
    if isinstance(value, Observation):
        return value
    if not isinstance(value, str):
        raise ValueError(f"row {row}: observation: expected a string, got {type(value).__name__}")
    try:
        obj = json.loads(value)
    except json.JSONDecodeError:
        return Observation(text=value)
    if not isinstance(obj, dict):
        # "42" or "[1]" parse as JSON but are meant as text.
        return Observation(text=value)
    try:
        return observation_from_json(obj, "observation")
    except SchemaError as exc:
        raise ValueError(f"row {row}: {exc}") from None


def _history_items(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and value != value):  # None / NaN: no history
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return list(json.loads(text))
        return [line for line in text.splitlines() if line.strip()]
    # Lists arrive as numpy arrays after MLflow's schema enforcement.
    return list(value)


def _history(value: Any, row: int) -> tuple[Action, ...]:
    try:
        items = _history_items(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"row {row}: history: expected a list of actions ({exc})") from None
    actions = []
    for i, item in enumerate(items):
        parsed = parse_action(item)
        if isinstance(parsed, ParseError):
            raise ValueError(f"row {row}: history[{i}]: {parsed.message}")
        actions.append(parsed)
    return tuple(actions)


def requests_from_frame(frame: pd.DataFrame) -> list[PlanRequest]:
    """Decode pyfunc input rows into `PlanRequest`s; a bad row raises ValueError naming it."""
    missing = [c for c in ("instruction", "observation") if c not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})")
    has_history = "history" in frame.columns
    requests = []
    for row, rec in enumerate(frame.to_dict("records")):
        instruction = rec["instruction"]
        if not isinstance(instruction, str):
            raise ValueError(f"row {row}: instruction: expected a string")
        requests.append(
            PlanRequest(
                instruction=instruction,
                observation=_observation(rec["observation"], row),
                history=_history(rec["history"], row) if has_history else (),
            )
        )
    return requests


def frame_from_requests(requests: Iterable[PlanRequest]) -> pd.DataFrame:
    """The inverse of `requests_from_frame`: what a client sends to a served planner."""
    import pandas as pd

    from tracer1.actions import format_action

    return pd.DataFrame(
        [
            {
                "instruction": r.instruction,
                "observation": json.dumps(observation_to_json(r.observation), ensure_ascii=False),
                "history": [format_action(a) for a in r.history],
            }
            for r in requests
        ],
        columns=list(COLUMNS),
    )


# --------------------------------------------------------------------- logging


def signature() -> ModelSignature:
    """Input: instruction, observation (strings), history (array of strings); output: plan text."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.types.schema import Array

    inputs = Schema(
        [
            ColSpec(DataType.string, "instruction"),
            ColSpec(DataType.string, "observation"),
            ColSpec(Array(DataType.string), "history", required=False),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec(DataType.string)]))


def input_example() -> pd.DataFrame:
    from tracer1.actions import Tool

    request = PlanRequest(
        instruction="What is 2 plus 3?",
        observation=Observation(text="tools: calculator"),
        history=(Tool.of("calculator", {"expression": "2+3"}),),
    )
    return frame_from_requests([request])


def pip_requirements() -> list[str]:
    """Exact pins of the installed packages a planner needs (missing ones are left out)."""
    pins = []
    for dist in _REQUIREMENTS:
        try:
            # Drop a local label (torch "2.13.0+cpu"): the build variant is the image's choice.
            pins.append(f"{dist}=={metadata.version(dist).split('+')[0]}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _model_card(model_dir: Path) -> dict[str, Any]:
    try:
        card = json.loads((model_dir / "tracer1.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return card if isinstance(card, dict) else {}


def log_planner_model(model_dir: str | os.PathLike, *, name: str = "planner") -> ModelInfo:
    """Log `model_dir` as a pyfunc model under the active run; returns MLflow's ModelInfo.

    The directory is copied whole as the artifact ``model``; `tracer1.json` (horizon,
    history, variant, stage) becomes the model's metadata. Requires an active run.
    """
    import mlflow.pyfunc

    from tracer1.registry.planner_model import MODEL_ARTIFACT

    model_dir = Path(model_dir)
    if not (model_dir / "tracer1.json").is_file():
        raise FileNotFoundError(f"{model_dir}: not a planner directory (no tracer1.json)")
    card = _model_card(model_dir)
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(MODEL_CODE),
        artifacts={MODEL_ARTIFACT: str(model_dir)},
        signature=signature(),
        input_example=input_example(),
        pip_requirements=pip_requirements(),
        metadata={"tracer1": card},
    )


def load_planner(model_uri: str) -> Planner:
    """Load a logged or registered planner (``models:/tracer1-planner@champion``) as a Planner."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(model_uri)
    agent = model.unwrap_python_model().agent
    if not isinstance(agent, Planner):
        raise TypeError(f"{model_uri}: the loaded agent does not implement Planner")
    return agent
