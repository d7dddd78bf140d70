"""Run one stage where an orchestrator hands over inputs and outputs as separate paths.

A Kubeflow component gets each input artifact and each output artifact as its own local
path; the stages read and write the project layout (`tracer1.layout`: `data/trajectories`,
`models/<variant>/sft`, `reports/eval`, …). `run_stage` bridges the two: it lays the
inputs out in a scratch project at the layout's paths, runs the very stage
function the CLI and `dvc.yaml` run, and moves the stage's outputs to the artifact paths.
`STAGE_IO` is the one table of what each stage reads and writes; the Kubeflow components
and their tests are written against it. Nothing here imports kfp.

An orchestrator's `HTML` artifact is one file: `pages` are rendered from the stage's
outputs into one self-contained page each (`tracer1.html_page`). A retried pod starts on
an empty disk, and an output artifact's local path is uploaded only on success, so a
checkpoint written there is lost with the pod: with `TRACER1_CHECKPOINT_ROOT` set (a
mounted volume) and a pipeline id, the scratch project lives at
``<root>/<pipeline id>/<stage>[-<variant>]`` instead and survives a failed attempt, so
the retry's trainer finds its checkpoints (`tracer1.training.grpo`: ``<model>.ckpt``,
checked against the run's fingerprint); it is removed once the stage has succeeded.

>>> sorted(STAGE_IO["stage2_rft"].inputs), sorted(STAGE_IO["stage2_rft"].outputs)
(['base', 'feedback', 'model'], ['metrics', 'model'])
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer1.config import Params
from tracer1.evaluation.report import MARKDOWN_FILE
from tracer1.layout import Layout
from tracer1.stages import load_params

PathFn = Callable[[Params, Layout], Path]
PageFn = Callable[[Params, Layout], str]
CHECKPOINT_ROOT_ENV = "TRACER1_CHECKPOINT_ROOT"


def _model(stage: str) -> PathFn:
    """The model `stage` writes for the layout's variant (the candidate's for a stage that
    runs once)."""
    return lambda p, lay: lay.model(stage)


def _record(stage: str) -> PathFn:
    return lambda p, lay: lay.record(stage)


def TRAJECTORIES(params: Params, lay: Layout) -> Path:  # noqa: N802 - a table entry
    return lay.trajectories


def BASE(params: Params, lay: Layout) -> Path:  # noqa: N802 - a table entry
    """`prepare_base`'s directory: every stage that loads a planner reads it (a LoRA model
    dir names it as its base)."""
    return lay.base


RUN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "base_model": ("policy.base_model",),
    "seed": ("policy.seed", "sft.seed", "stage1_grpo.seed", "stage2_rft.seed"),
}
"""Run-level settings an orchestrator may set per run → the params keys they override.
`seed` is the training seed: model init, data order and sampling; never the task seeds
of the splits, so runs with different seeds are scored on the same held-out tasks."""


def _validation_page(params: Params, lay: Layout) -> str:
    import json

    from tracer1.html_page import validation_page

    return validation_page(json.loads(lay.validation_result.read_text(encoding="utf-8")))


def _eval_page(params: Params, lay: Layout) -> str:
    from tracer1.html_page import eval_page

    return eval_page(lay.eval_dir)


class StageFailed(RuntimeError):
    """The stage ran and reported failure (e.g. validation found violations)."""


@dataclass(frozen=True)
class StageIO:
    """Artifact name → where the stage reads (inputs) or writes (outputs) it; `pages`:
    artifact name → the one HTML file rendered from the stage's outputs."""

    inputs: Mapping[str, PathFn]
    outputs: Mapping[str, PathFn]
    per_variant: bool
    pages: Mapping[str, PageFn] = field(default_factory=dict)

    @property
    def produced(self) -> set[str]:
        """Every output artifact name: the copied outputs and the rendered pages."""
        return set(self.outputs) | set(self.pages)


STAGE_IO: dict[str, StageIO] = {
    "build_dataset": StageIO(
        {}, {"trajectories": TRAJECTORIES, "metrics": lambda p, lay: lay.build_record}, False),
    "validate_dataset": StageIO(
        {"trajectories": TRAJECTORIES}, {"data_docs": lambda p, lay: lay.validation}, False,
        {"report": _validation_page}),
    "prepare_base": StageIO({}, {"base": BASE}, False),
    "sft": StageIO(
        {"trajectories": TRAJECTORIES, "base": BASE},
        {"model": _model("sft"), "metrics": _record("sft")}, True),
    "stage1_grpo": StageIO(
        {"trajectories": TRAJECTORIES, "base": BASE, "model": _model("sft")},
        {"model": _model("stage1_grpo"), "metrics": _record("stage1_grpo")}, True),
    "collect_feedback": StageIO(
        {"model": _model("stage1_grpo"), "base": BASE},
        {"feedback": lambda p, lay: lay.feedback, "metrics": lambda p, lay: lay.feedback_record},
        True),
    "stage2_rft": StageIO(
        {"model": _model("stage1_grpo"), "base": BASE, "feedback": lambda p, lay: lay.feedback},
        {"model": _model("stage2_rft"), "metrics": _record("stage2_rft")}, True),
    "evaluate": StageIO(
        {"trajectories": TRAJECTORIES, "base": BASE, "sft": _model("sft"),
         "stage1": _model("stage1_grpo"), "stage2": _model("stage2_rft"),
         "reactive": lambda p, lay: lay.of(p.forecast.baseline).stage2_model},
        {"report": lambda p, lay: lay.eval_dir,
         "summary": lambda p, lay: lay.eval_dir / MARKDOWN_FILE}, False,
        {"page": _eval_page}),
    "gate": StageIO({"report": lambda p, lay: lay.eval_dir}, {}, False),
    "promote": StageIO(
        {"report": lambda p, lay: lay.eval_dir, "model": _model("stage2_rft"),
         "base": BASE, "data_metrics": lambda p, lay: lay.build_record},
        {"decision": lambda p, lay: lay.decision}, False),
}
"""The paths are those of the scratch project's `Layout`: for the stage's variant, or the
candidate's for a stage that runs once (`evaluate` reads the reactive baseline's too)."""


def run_stage(
    stage: str,
    params_path: str | os.PathLike,
    inputs: Mapping[str, str | os.PathLike],
    outputs: Mapping[str, str | os.PathLike],
    *,
    variant: str | None = None,
    pipeline_id: str | None = None,
    options: Mapping[str, Any] | None = None,
    run_parameters: Mapping[str, str] | None = None,
) -> Any:
    """Run `stage` with its `inputs` (artifact name → path) in a scratch project; its outputs
    land at `outputs` (artifact name → path). Returns what the stage function returns.

    The artifact names must be exactly `STAGE_IO[stage]`'s. `pipeline_id` (default:
    `TRACER1_PIPELINE_ID`) groups the stage's MLflow run under that pipeline's parent run
    (e.g. the Kubeflow run id) and keys the persistent scratch (see the module doc);
    `options` are keyword arguments of the stage function (empty strings, what a
    pipeline parameter left unset holds, are dropped); `run_parameters` are the run-level
    settings of `RUN_PARAMETERS` as YAML-scalar strings (``{"seed": "3"}``; empty ones
    dropped), applied on top of the params file. A
    relative SQLite tracking URI is resolved against the current directory first, so the
    runs do not vanish with the scratch project.
    """
    from tracer1 import distributed, stages, tracking

    # A Kubeflow component's process prints whatever this raises or logs: no credential
    # (a password in MLFLOW_TRACKING_URI) may be in it, as behind `tracer1`'s own entry.
    tracking.redact_output()
    io = _stage_io(stage, variant, inputs, outputs)
    params_file = Path(params_path).resolve()
    params = load_params(params_file, _overrides(run_parameters or {}))
    if io.per_variant:
        params.forecast.horizon(variant)  # an unknown variant fails here, with the known ones
    # Relative to the scratch project, the working directory while the stage runs.
    lay = Layout(variant=variant if io.per_variant else params.forecast.candidate)
    uri = tracking.resolve_tracking_uri(params.tracking)
    env = {"MLFLOW_TRACKING_URI": uri}
    pipeline_id = pipeline_id or os.environ.get(tracking.PIPELINE_ID_ENV, "").strip()
    if pipeline_id:
        env[tracking.PIPELINE_ID_ENV] = pipeline_id
    distributed.init()  # several ranks: one fills the shared scratch, the others wait
    with _scratch(stage, variant, pipeline_id) as (scratch, fills), _environ(env), \
            _cwd(scratch):
        if fills:
            for name, where in io.inputs.items():
                _fetch(inputs[name], where(params, lay))
        distributed.barrier()
        fn = getattr(stages, stage)
        args = (params, str(params_file), variant) if io.per_variant else (params,
                                                                          str(params_file))
        result = fn(*args, **{k: v for k, v in (options or {}).items() if v != ""})
        if getattr(result, "success", True) is False:  # a failed validation stops the run
            raise StageFailed(f"{stage} failed: {getattr(result, 'error', None) or result}")
        if distributed.is_main():  # rank 0 wrote the outputs; it alone hands them over
            for name, where in io.outputs.items():
                _store(where(params, lay), outputs[name])
            for name, render in io.pages.items():
                dest = Path(outputs[name])
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(render(params, lay), encoding="utf-8")
        distributed.barrier()
    return result


@contextlib.contextmanager
def _scratch(stage: str, variant: str | None, pipeline_id: str | None
             ) -> Iterator[tuple[Path, bool]]:
    """The scratch project and whether this rank fills it with the inputs: a temporary
    directory, or with `CHECKPOINT_ROOT_ENV` and a pipeline id one that outlives a failed
    attempt (its retry resumes from the checkpoints in it) and is removed after a success.

    Several ranks (`tracer1 launch`) share one: the ranks of a node a temporary directory
    (named by rank 0; its local rank 0 fills it), every rank the one under the checkpoint
    root (a shared volume; rank 0 fills it), so they all read the same inputs and rank 0's
    checkpoints."""
    from tracer1 import distributed

    root = os.environ.get(CHECKPOINT_ROOT_ENV, "").strip()
    if not (root and pipeline_id):
        if distributed.world_size() == 1:
            with tempfile.TemporaryDirectory(prefix=f"tracer1-{stage}-") as scratch:
                yield Path(scratch), True
            return
        import secrets

        name = distributed.broadcast(f"tracer1-{stage}-{secrets.token_hex(8)}")
        path, fills = Path(tempfile.gettempdir()) / name, distributed.local_rank() == 0
    else:
        import re

        key = re.sub(r"[^A-Za-z0-9._-]", "-", pipeline_id)
        path = Path(root) / key / (f"{stage}-{variant}" if variant else stage)
        fills = distributed.is_main()
    if fills:
        path.mkdir(parents=True, exist_ok=True)
    distributed.barrier()
    yield path, fills  # an exception leaves it in place (a retry resumes from it)
    distributed.barrier()
    if fills:
        shutil.rmtree(path, ignore_errors=True)


def _overrides(run_parameters: Mapping[str, str]) -> dict[str, Any]:
    from tracer1.config import yaml_load

    unknown = set(run_parameters) - set(RUN_PARAMETERS)
    if unknown:
        raise ValueError(f"unknown run parameters {sorted(unknown)} "
                         f"(known: {', '.join(RUN_PARAMETERS)})")
    return {key: yaml_load(value)
            for name, value in run_parameters.items() if value != ""
            for key in RUN_PARAMETERS[name]}


def _stage_io(stage: str, variant: str | None, inputs: Mapping[str, Any],
              outputs: Mapping[str, Any]) -> StageIO:
    if stage not in STAGE_IO:
        raise ValueError(f"unknown stage {stage!r} (known: {', '.join(STAGE_IO)})")
    io = STAGE_IO[stage]
    for kind, given, wanted in (("inputs", inputs, io.inputs), ("outputs", outputs, io.produced)):
        if set(given) != set(wanted):
            raise ValueError(f"{stage}: {kind} must be {sorted(wanted)}, got {sorted(given)}")
    if io.per_variant and not variant:
        raise ValueError(f"{stage} runs per variant: pass variant=")
    return io


def _fetch(src: str | os.PathLike, dest: Path) -> None:
    """An input into the scratch project: from the shared S3 store (an ``s3://`` URI, as a
    TrainJob gets its artifacts) or a local path."""
    from tracer1 import storage

    if storage.is_remote(src):
        _clear(dest)
        storage.download(str(src), dest)
    else:
        _copy(Path(src), dest)


def _store(src: Path, dest: str | os.PathLike) -> None:
    """An output to its artifact location: an ``s3://`` URI or a local path."""
    from tracer1 import storage

    if storage.is_remote(dest):
        storage.upload(src, str(dest))
    else:
        _copy(src, Path(dest))


def _clear(dest: Path) -> None:
    if dest.is_dir():
        shutil.rmtree(dest)
    elif dest.exists():
        dest.unlink()


def _copy(src: Path, dest: Path) -> None:
    """Copy a file or a directory tree to `dest` (replacing it), creating parents."""
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file or directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _clear(dest)
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


__all__ = ["CHECKPOINT_ROOT_ENV", "RUN_PARAMETERS", "STAGE_IO", "StageFailed", "StageIO",
           "run_stage"]
