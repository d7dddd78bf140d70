"""The planner as an MLflow pyfunc model: log it, and load it back as a `Planner`.

Input rows have three columns — ``instruction`` (str), ``observation`` (the
JSON of `tracer1.trajectory.observation_to_json`, or plain text) and
``history`` (the last actions in their canonical text) — and the output is one
greedy `<plan>` text per row, so a served champion answers the same request
the closed-loop harness makes. `load_planner` unwraps the pyfunc back into the
`Agent`, so `evaluate` scores the registry champion with the same harness as a
fresh candidate. A LoRA planner is logged with its base model inside (``model/base/``),
so `models:/tracer1-planner@champion` loads, and `mlflow models serve` serves it, where
only the registry's artifacts are; the `tracer1` code rides along too (``code/tracer1``),
so the model's requirements name only published packages. Each logged model is an
MLflow 3 LoggedModel whose params are the training settings (`log_planner_model`).

MLflow is imported inside the functions; `PlannerModel` (a `PythonModel`
subclass, hence MLflow at import) is re-exported lazily from `planner_model`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.actions import Action, ParseError, parse_action
from tracer1.policy.base import Planner, PlanRequest
from tracer1.policy.model import META_FILE, resolve_base
from tracer1.policy.source import SOURCE_FILE
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
# tracer1 itself is *not* among them: it is no published package, and a pin would make a
# virtualenv/conda env manager install whatever an index serves under that name. Its
# code travels with the model instead (`code_paths`, ``code/tracer1``), so these are the
# packages that code imports when it loads and plans (pillow: a VLM planner's screenshots).
_REQUIREMENTS = ("mlflow", "torch", "transformers", "tokenizers", "peft", "pandas", "numpy",
                 "pillow")
PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The `tracer1` package this process runs: copied into each logged model as ``code/tracer1``."""


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
        card = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return card if isinstance(card, dict) else {}


BUNDLED_BASE = "base"
"""Where a logged LoRA planner carries its base model, inside the artifact ``model``."""


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)  # same filesystem: no second copy of the base's weights
    except OSError:
        shutil.copy2(src, dst)
    return dst


@contextlib.contextmanager
def bundled_model_dir(model_dir: str | os.PathLike) -> Iterator[Path]:
    """`model_dir` as a self-contained planner directory: a LoRA adapter gets its base model
    (the directory its `tracer1.json` names, e.g. `prepare_base`'s ``models/base``) copied
    in as ``base/``, and `base_model` rewritten to ``"base"`` — so a registered version
    loads and serves on a machine that has only the registry's artifacts. A tiny model
    (full weights), an adapter already carrying its base, or one whose base is a hub id
    (fetched where it loads) comes back as is. The staged copy (hard links where it can)
    is removed on exit."""
    model_dir = Path(model_dir)
    card = _model_card(model_dir)
    base_model = card.get("base_model")
    if not card.get("lora") or not isinstance(base_model, str) or not base_model:
        yield model_dir
        return
    base = Path(resolve_base(model_dir, base_model))
    if not base.is_dir() or base.resolve() == (model_dir / BUNDLED_BASE).resolve():
        yield model_dir
        return
    try:  # beside the model: hard links work on one filesystem
        staging = Path(tempfile.mkdtemp(prefix=".tracer1-pyfunc-", dir=model_dir.parent))
    except OSError:
        staging = Path(tempfile.mkdtemp(prefix="tracer1-pyfunc-"))
    try:
        staged = staging / model_dir.name
        shutil.copytree(model_dir, staged, copy_function=_link_or_copy)
        shutil.copytree(base, staged / BUNDLED_BASE, copy_function=_link_or_copy)
        meta = staged / META_FILE
        meta.unlink()  # a hard link: never write through it into the original
        meta.write_text(json.dumps({**card, "base_model": BUNDLED_BASE}, indent=2,
                                   sort_keys=True) + "\n", encoding="utf-8")
        yield staged
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _base_record(model_dir: Path) -> dict[str, Any] | None:
    """The bundled base's `source.json` (what it was prepared from), if it has one."""
    try:
        record = json.loads((model_dir / BUNDLED_BASE / SOURCE_FILE).read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


@contextlib.contextmanager
def package_code() -> Iterator[Path]:
    """A clean copy of the running `tracer1` package (no ``__pycache__``, no Data Docs
    assets), for `code_paths`: MLflow copies the directory as ``code/tracer1`` and puts
    ``code/`` first on `sys.path` when it loads the model, so the model imports the very
    code it was trained and logged with, and serving needs no ``tracer1`` from any index.
    Removed on exit."""
    from tracer1.data.validation.offline_docs import ASSETS

    staging = Path(tempfile.mkdtemp(prefix="tracer1-code-"))
    try:
        target = staging / PACKAGE_DIR.name
        # The 2 MB of vendored CSS/JS serve validate_dataset's pages, never a model.
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ASSETS.name)
        shutil.copytree(PACKAGE_DIR, target, ignore=skip)
        yield target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def log_planner_model(
    model_dir: str | os.PathLike,
    *,
    name: str = "planner",
    params: Mapping[str, Any] | None = None,
) -> ModelInfo:
    """Log `model_dir` as a pyfunc LoggedModel under the active run; returns MLflow's ModelInfo
    (``model_info.model_id``, ``model_info.model_uri`` = ``models:/m-…``).

    The directory is copied whole as the artifact ``model``, a LoRA adapter with its base
    model inside (`bundled_model_dir`), and the `tracer1` package as code (`package_code`);
    `tracer1.json` (horizon, history, variant, stage) becomes the model's metadata, with
    the base's `source.json` under ``base``. The LoggedModel's params are `params` (the
    training settings, flattened, credentials dropped) and nothing else: `log_model` alone
    would copy the *active run's* params onto it, i.e. the ``promote`` gate settings.
    Requires an active run.
    """
    import mlflow
    import mlflow.pyfunc

    from tracer1.registry.planner_model import MODEL_ARTIFACT

    model_dir = Path(model_dir)
    if not (model_dir / META_FILE).is_file():
        raise FileNotFoundError(f"{model_dir}: not a planner directory (no tracer1.json)")
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_planner_model needs an active MLflow run")
    card = _model_card(model_dir)
    logged = mlflow.initialize_logged_model(
        name=name, source_run_id=run.info.run_id, model_type="tracer1-planner",
        params=model_params(params, card))
    try:
        with bundled_model_dir(model_dir) as artifact, package_code() as code:
            metadata: dict[str, Any] = {"tracer1": _model_card(artifact)}
            if (base := _base_record(artifact)) is not None:
                metadata["base"] = base
            info = mlflow.pyfunc.log_model(
                name=name,
                model_id=logged.model_id,
                python_model=str(MODEL_CODE),
                artifacts={MODEL_ARTIFACT: str(artifact)},
                code_paths=[str(code)],
                signature=signature(),
                input_example=input_example(),
                pip_requirements=pip_requirements(),
                metadata=metadata,
            )
    except BaseException:
        mlflow.finalize_logged_model(logged.model_id, "FAILED")
        raise
    mlflow.finalize_logged_model(logged.model_id, "READY")  # log_model leaves it PENDING
    return info


def model_params(params: Mapping[str, Any] | None, card: Mapping[str, Any]) -> dict[str, str]:
    """The LoggedModel's params: `params` (the training settings, nested or dotted) flattened,
    plus the model card's scalars as ``model.<key>``; credentials dropped, values cut to
    MLflow's limit."""
    from tracer1.tracking import _PARAM_VALUE_LIMIT, _clean_key, flatten, scrub

    items = {**flatten(params or {}),
             **{f"model.{k}": v for k, v in card.items()
                if isinstance(v, str | int | float | bool) or v is None}}
    return {k: v[:_PARAM_VALUE_LIMIT]
            for k, v in scrub({_clean_key(k): v for k, v in items.items()}).items()}


def load_planner(model_uri: str) -> Planner:
    """Load a logged or registered planner (``models:/tracer1-planner@champion``) as a Planner."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(model_uri)
    agent = model.unwrap_python_model().agent
    if not isinstance(agent, Planner):
        raise TypeError(f"{model_uri}: the loaded agent does not implement Planner")
    return agent
