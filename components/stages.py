"""The stage components. Lightweight Python components on the project image (the
Dockerfile): kfp ships each body to the container, where `tracer1` is installed, and
`kfp.local.SubprocessRunner` can run them in this venv for tests.

Artifacts between stages are typed: expert trajectories and feedback are `Dataset`s,
planners and the prepared base model (`prepare_base`, an input of every stage that loads
a planner) `Model`s, stage metrics `Metrics`, the validation report `HTML` (Great
Expectations' Data Docs), the eval report an `Artifact` folder (report.json, plots) and
its tables `Markdown` (shown in the Kubeflow UI). `TRACER1_IMAGE` at compile time picks
the default image (`pipelines/compile.py --image`); the pipeline's `image` parameter
replaces it per run.
"""

import os

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output

IMAGE = os.environ.get("TRACER1_IMAGE", "ghcr.io/tracer1/tracer1:latest")


@dsl.component(base_image=IMAGE)
def build_dataset(params_file: str, pipeline_id: str, base_model: str, seed: str,
                  data_repo: str, data_version: str, trajectories: Output[Dataset],
                  metrics: Output[Metrics]):
    from tracer1.workspace import run_stage

    run_stage("build_dataset", params_file, {},
              {"trajectories": trajectories.path, "metrics": metrics.path},
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed},
              options={"dvc_repo": data_repo, "dvc_rev": data_version})


@dsl.component(base_image=IMAGE)
def validate_dataset(params_file: str, pipeline_id: str, base_model: str, seed: str,
                     trajectories: Input[Dataset], report: Output[HTML]):
    from tracer1.workspace import run_stage

    run_stage("validate_dataset", params_file, {"trajectories": trajectories.path},
              {"report": report.path},
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def prepare_base(params_file: str, pipeline_id: str, base_model: str, seed: str,
                 base: Output[Model]):
    from tracer1.workspace import run_stage

    run_stage("prepare_base", params_file, {}, {"base": base.path},
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def sft(params_file: str, pipeline_id: str, base_model: str, seed: str, variant: str,
        trajectories: Input[Dataset], base: Input[Model], model: Output[Model],
        metrics: Output[Metrics]):
    from tracer1.workspace import run_stage

    run_stage("sft", params_file, {"trajectories": trajectories.path, "base": base.path},
              {"model": model.path, "metrics": metrics.path}, variant=variant,
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def stage1_grpo(params_file: str, pipeline_id: str, base_model: str, seed: str, variant: str,
                trajectories: Input[Dataset], base: Input[Model], sft_model: Input[Model],
                model: Output[Model], metrics: Output[Metrics]):
    from tracer1.workspace import run_stage

    run_stage("stage1_grpo", params_file,
              {"trajectories": trajectories.path, "base": base.path, "model": sft_model.path},
              {"model": model.path, "metrics": metrics.path}, variant=variant,
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def collect_feedback(params_file: str, pipeline_id: str, base_model: str, seed: str,
                     variant: str, base: Input[Model], stage1_model: Input[Model],
                     feedback: Output[Dataset], metrics: Output[Metrics]):
    from tracer1.workspace import run_stage

    run_stage("collect_feedback", params_file, {"model": stage1_model.path, "base": base.path},
              {"feedback": feedback.path, "metrics": metrics.path}, variant=variant,
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def stage2_rft(params_file: str, pipeline_id: str, base_model: str, seed: str, variant: str,
               base: Input[Model], stage1_model: Input[Model], feedback: Input[Dataset],
               model: Output[Model], metrics: Output[Metrics]):
    from tracer1.workspace import run_stage

    run_stage("stage2_rft", params_file,
              {"model": stage1_model.path, "base": base.path, "feedback": feedback.path},
              {"model": model.path, "metrics": metrics.path}, variant=variant,
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def evaluate(params_file: str, pipeline_id: str, base_model: str, seed: str,
             trajectories: Input[Dataset], base: Input[Model], sft_model: Input[Model],
             stage1_model: Input[Model], stage2_model: Input[Model],
             reactive_model: Input[Model], report: Output[Artifact],
             summary: Output[Markdown]):
    from tracer1.workspace import run_stage

    run_stage("evaluate", params_file,
              {"trajectories": trajectories.path, "base": base.path, "sft": sft_model.path,
               "stage1": stage1_model.path, "stage2": stage2_model.path,
               "reactive": reactive_model.path},
              {"report": report.path, "summary": summary.path},
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})


@dsl.component(base_image=IMAGE)
def gate(params_file: str, pipeline_id: str, base_model: str, seed: str,
         report: Input[Artifact]) -> str:
    from tracer1.workspace import run_stage

    return run_stage("gate", params_file, {"report": report.path}, {},
                     pipeline_id=pipeline_id,
                     run_parameters={"base_model": base_model, "seed": seed}).decision


@dsl.component(base_image=IMAGE)
def promote(params_file: str, pipeline_id: str, base_model: str, seed: str,
            report: Input[Artifact], candidate: Input[Model], base: Input[Model],
            data_metrics: Input[Metrics], decision: Output[Artifact]):
    from tracer1.workspace import run_stage

    run_stage("promote", params_file, {"report": report.path, "model": candidate.path,
                                       "base": base.path, "data_metrics": data_metrics.path},
              {"decision": decision.path},
              pipeline_id=pipeline_id, run_parameters={"base_model": base_model, "seed": seed})
