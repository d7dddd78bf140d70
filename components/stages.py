"""The stage components: container components on the project image (the Dockerfile).

Each runs the image's own entry point — `tini` (signals reach the stage, zombies are
reaped), `scripts/entrypoint.sh` (a virtual display for headed browsers) — and then
`tracer1 run-stage <stage>`, the CLI with its SIGTERM handler and redacted output, which
calls `tracer1.workspace.run_stage`: the same stage function `dvc.yaml` runs through
`tracer1 <stage>`. Kubernetes' `command` replaces the image's ENTRYPOINT, and the KFP
launcher runs the component's command, so the entry point is spelled out here
(`ENTRYPOINT`, checked against the Dockerfile by a test). No kfp in the image, no pip.

Artifacts between stages are typed: expert trajectories and feedback are `Dataset`s,
planners and the prepared base model (`prepare_base`, an input of every stage that loads
a planner) `Model`s, stage metrics `Metrics`, the validation report one self-contained
`HTML` page (`report`; Great Expectations' Data Docs folder beside it as `data_docs`), the
eval report an `Artifact` folder (report.json, plots), its page `HTML` and its tables
`Markdown` (shown in the Kubeflow UI). `TRACER1_IMAGE` at compile time picks the default
image (`pipelines/compile.py --image`); the pipeline's `image` parameter replaces it per
run. The run id is not an input (it would key every cache entry to one run): the pipeline
hands it over as the `TRACER1_PIPELINE_ID` environment variable from the pod's label.
"""

import os

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output, OutputPath

from tracer1.trainjob import ENTRYPOINT

IMAGE = os.environ.get("TRACER1_IMAGE", "ghcr.io/tracer1/tracer1:latest")


def stage_command(stage: str, params_file, base_model, seed, *, variant=None,
                  inputs=None, outputs=None, options=None, results=None) -> dsl.ContainerSpec:
    """`tracer1 run-stage <stage>` behind the entry point, artifacts as NAME=PATH pairs.

    The values are kfp placeholders; each pair is one argument (an f-string the backend
    resolves), so a path with spaces stays whole.
    """
    args = [stage, "--params", params_file,
            "--set", f"base_model={base_model}", "--set", f"seed={seed}"]
    if variant is not None:
        args += ["--variant", variant]
    for flag, pairs in (("--input", inputs), ("--output", outputs), ("--option", options),
                        ("--result", results)):
        for name, value in (pairs or {}).items():
            args += [flag, f"{name}={value}"]
    return dsl.ContainerSpec(image=IMAGE, command=[*ENTRYPOINT, "tracer1", "run-stage"],
                             args=args)


@dsl.container_component
def build_dataset(params_file: str, base_model: str, seed: str, data_repo: str,
                  data_version: str, trajectories: Output[Dataset],
                  metrics: Output[Metrics]):
    return stage_command(
        "build_dataset", params_file, base_model, seed,
        outputs={"trajectories": trajectories.path, "metrics": metrics.path},
        options={"dvc_repo": data_repo, "dvc_rev": data_version})


@dsl.container_component
def validate_dataset(params_file: str, base_model: str, seed: str,
                     trajectories: Input[Dataset], report: Output[HTML],
                     data_docs: Output[Artifact]):
    return stage_command(
        "validate_dataset", params_file, base_model, seed,
        inputs={"trajectories": trajectories.path},
        outputs={"report": report.path, "data_docs": data_docs.path})


@dsl.container_component
def prepare_base(params_file: str, base_model: str, seed: str, base: Output[Model]):
    return stage_command("prepare_base", params_file, base_model, seed,
                         outputs={"base": base.path})


@dsl.container_component
def sft(params_file: str, base_model: str, seed: str, variant: str,
        trajectories: Input[Dataset], base: Input[Model], model: Output[Model],
        metrics: Output[Metrics]):
    return stage_command(
        "sft", params_file, base_model, seed, variant=variant,
        inputs={"trajectories": trajectories.path, "base": base.path},
        outputs={"model": model.path, "metrics": metrics.path})


@dsl.container_component
def stage1_grpo(params_file: str, base_model: str, seed: str, variant: str,
                trajectories: Input[Dataset], base: Input[Model], sft_model: Input[Model],
                model: Output[Model], metrics: Output[Metrics]):
    return stage_command(
        "stage1_grpo", params_file, base_model, seed, variant=variant,
        inputs={"trajectories": trajectories.path, "base": base.path,
                "model": sft_model.path},
        outputs={"model": model.path, "metrics": metrics.path})


@dsl.container_component
def collect_feedback(params_file: str, base_model: str, seed: str, variant: str,
                     base: Input[Model], stage1_model: Input[Model],
                     feedback: Output[Dataset], metrics: Output[Metrics]):
    return stage_command(
        "collect_feedback", params_file, base_model, seed, variant=variant,
        inputs={"model": stage1_model.path, "base": base.path},
        outputs={"feedback": feedback.path, "metrics": metrics.path})


@dsl.container_component
def stage2_rft(params_file: str, base_model: str, seed: str, variant: str,
               base: Input[Model], stage1_model: Input[Model], feedback: Input[Dataset],
               model: Output[Model], metrics: Output[Metrics]):
    return stage_command(
        "stage2_rft", params_file, base_model, seed, variant=variant,
        inputs={"model": stage1_model.path, "base": base.path, "feedback": feedback.path},
        outputs={"model": model.path, "metrics": metrics.path})


@dsl.container_component
def evaluate(params_file: str, base_model: str, seed: str, trajectories: Input[Dataset],
             base: Input[Model], sft_model: Input[Model], stage1_model: Input[Model],
             stage2_model: Input[Model], reactive_model: Input[Model],
             report: Output[Artifact], page: Output[HTML], summary: Output[Markdown]):
    return stage_command(
        "evaluate", params_file, base_model, seed,
        inputs={"trajectories": trajectories.path, "base": base.path,
                "sft": sft_model.path, "stage1": stage1_model.path,
                "stage2": stage2_model.path, "reactive": reactive_model.path},
        outputs={"report": report.path, "page": page.path, "summary": summary.path})


@dsl.container_component
def gate(params_file: str, base_model: str, seed: str, report: Input[Artifact],
         decision: OutputPath(str)):
    return stage_command("gate", params_file, base_model, seed,
                         inputs={"report": report.path}, results={"decision": decision})


@dsl.container_component
def promote(params_file: str, base_model: str, seed: str, report: Input[Artifact],
            candidate: Input[Model], base: Input[Model], data_metrics: Input[Metrics],
            decision: Output[Artifact]):
    return stage_command(
        "promote", params_file, base_model, seed,
        inputs={"report": report.path, "model": candidate.path, "base": base.path,
                "data_metrics": data_metrics.path},
        outputs={"decision": decision.path})


# ------------------------------------------------------- multi-GPU: Kubeflow Trainer


def trainjob_command(stage: str, params_file, base_model, seed, variant, image, job, *,
                     inputs, outputs) -> dsl.ContainerSpec:
    """`tracer1 trainjob <stage>` (`tracer1.trainjob.run_trainjob`): the task's pod submits
    the stage as a TrainJob that reads and writes the artifacts' S3 URIs, waits for it,
    and copies the outputs to their local paths for the KFP launcher. `job`: the TrainJob
    settings (launch recipe, GPU node resources) as JSON, fixed at compile time."""
    args = [stage, "--params", params_file, "--set", f"base_model={base_model}",
            "--set", f"seed={seed}", "--variant", variant, "--image", image, "--job", job]
    for name, artifact in inputs.items():
        args += ["--input", f"{name}={artifact.uri}"]
    for name, artifact in outputs.items():
        args += ["--output", f"{name}={artifact.uri}", "--local", f"{name}={artifact.path}"]
    return dsl.ContainerSpec(image=IMAGE, command=[*ENTRYPOINT, "tracer1", "trainjob"],
                             args=args)


@dsl.container_component
def sft_trainjob(params_file: str, base_model: str, seed: str, variant: str, image: str,
                 job: str, trajectories: Input[Dataset], base: Input[Model],
                 model: Output[Model], metrics: Output[Metrics]):
    return trainjob_command("sft", params_file, base_model, seed, variant, image, job,
                            inputs={"trajectories": trajectories, "base": base},
                            outputs={"model": model, "metrics": metrics})


@dsl.container_component
def stage1_grpo_trainjob(params_file: str, base_model: str, seed: str, variant: str,
                         image: str, job: str, trajectories: Input[Dataset],
                         base: Input[Model], sft_model: Input[Model], model: Output[Model],
                         metrics: Output[Metrics]):
    return trainjob_command("stage1_grpo", params_file, base_model, seed, variant, image, job,
                            inputs={"trajectories": trajectories, "base": base,
                                    "model": sft_model},
                            outputs={"model": model, "metrics": metrics})


@dsl.container_component
def stage2_rft_trainjob(params_file: str, base_model: str, seed: str, variant: str,
                        image: str, job: str, base: Input[Model], stage1_model: Input[Model],
                        feedback: Input[Dataset], model: Output[Model],
                        metrics: Output[Metrics]):
    return trainjob_command("stage2_rft", params_file, base_model, seed, variant, image, job,
                            inputs={"model": stage1_model, "base": base, "feedback": feedback},
                            outputs={"model": model, "metrics": metrics})
