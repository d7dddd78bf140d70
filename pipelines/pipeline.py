"""The whole mission as a Kubeflow Pipelines v2 DAG over the stage components.

build_dataset → validate_dataset, prepare_base (the base model, converted once) → per
variant: sft → stage1_grpo → collect_feedback →
stage2_rft → evaluate (every policy, the same tasks) → gate → promote, the last only when
the gate says "promote". The variants (and which is the candidate and the baseline) come
from the params file at compile time, so the DAG mirrors `dvc.yaml`'s `foreach`; every
hyperparameter stays in the params file a run names (`params_file`).

On one GPU a training stage is a pod; with more (`Cluster.accelerator_count` > 1 or
`num_nodes` > 1, e.g. `Cluster.from_recipe` of `recipes/launch/*.yaml`) its task submits a
Kubeflow Trainer TrainJob of the same image and waits for it (`tracer1.trainjob`).

Cluster settings (GPU type and count on the training stages, node selector, toleration,
CPU/memory requests, retries with backoff, timeouts, the volume the training stages keep
their checkpoints on, the Kubernetes secrets that hold the S3 and MLflow settings) are a
`Cluster` value, not pipeline parameters.

No task input depends on the run: KFP's cache key is the hash of a task's resolved inputs
(and its command and image), so a run-id input would make every run miss the cache and
retrain everything. The run id reaches the stages as `TRACER1_PIPELINE_ID`, read from the
`pipeline/runid` label the KFP API server puts on every pod of a run (`RUN_ID_FIELD`).
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp import dsl, kubernetes

import components as c
from tracer1.tracking import PIPELINE_ID_ENV
from tracer1.training.launch import LaunchRecipe, Rollouts
from tracer1.trainjob import TrainJobSettings, settings_json
from tracer1.workspace import CHECKPOINT_ROOT_ENV

REPO = Path(__file__).resolve().parents[1]
GPU_STAGES = ("sft", "stage1_grpo", "stage2_rft")
RUN_ID_FIELD = "metadata.labels['pipeline/runid']"
"""The Kubeflow run id of a pod (set by the KFP API server on every pod of a run)."""
CHECKPOINT_MOUNT = "/checkpoints"


@dataclass(frozen=True)
class Cluster:
    """Where and how the stages run on Kubernetes."""

    accelerator: str = "nvidia.com/gpu"
    accelerator_count: int = 1
    """GPUs per training node. More than one (or `num_nodes` > 1): each training stage is a
    Kubeflow Trainer TrainJob (`tracer1.trainjob`); one GPU on one node: a plain pod."""
    num_nodes: int = 1
    strategy: str = "ddp"
    """How the ranks of a TrainJob share the model (`LaunchRecipe.strategy`)."""
    rollouts: Rollouts = Rollouts()
    """The GRPO stages' rollout engine (`LaunchRecipe.rollouts`)."""
    gpu_node_selector: tuple[str, str] | None = ("nvidia.com/gpu.present", "true")
    gpu_toleration: str | None = "nvidia.com/gpu"
    """Taint key tolerated on GPU nodes (operator Exists, effect NoSchedule)."""
    cpu_request: str = "2"
    memory_request: str = "8Gi"
    gpu_memory_request: str = "32Gi"
    base_memory_request: str = "32Gi"
    """`prepare_base` holds the whole base model in memory to convert it (on CPU)."""
    retries: int = 2
    """Retries on failure (transient: pre-emption, a lost node, a timeout)."""
    retry_backoff: str = "60s"
    """Wait before the first retry, doubled for each next one (a lost node needs time to be
    replaced; an immediate retry lands on the same trouble)."""
    timeout_s: int = 6 * 3600
    """A pod's deadline (`activeDeadlineSeconds`), per attempt: a hung browser or a stuck
    download fails and is retried instead of holding its node forever."""
    gpu_timeout_s: int = 24 * 3600
    checkpoint_pvc: str | None = None
    """A PersistentVolumeClaim the training stages mount at `CHECKPOINT_MOUNT` (ReadWriteMany
    when variants train in parallel on different nodes): a retried training stage resumes
    from the checkpoints its failed attempt left there (`tracer1.workspace`). None: no
    volume, a retried stage trains from the start (an output artifact's local path lives
    and dies with its pod)."""
    secrets: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "tracer1-s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"),
        "tracer1-mlflow": ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME",
                           "MLFLOW_TRACKING_PASSWORD"),
    })
    """Kubernetes secret → the keys exported as environment variables of every stage."""


    @classmethod
    def from_recipe(cls, recipe: LaunchRecipe, **settings: Any) -> "Cluster":
        """The cluster a launch recipe (`recipes/launch/*.yaml`) describes."""
        return cls(accelerator_count=recipe.gpus_per_node, num_nodes=recipe.nodes,
                   strategy=recipe.strategy, rollouts=recipe.rollouts, **settings)

    @property
    def distributed(self) -> bool:
        return self.accelerator_count > 1 or self.num_nodes > 1

    def recipe(self) -> LaunchRecipe:
        return LaunchRecipe(nodes=self.num_nodes, gpus_per_node=self.accelerator_count,
                            strategy=self.strategy, rollouts=self.rollouts)

    def trainjob(self) -> TrainJobSettings:
        """What a training stage's TrainJob needs to know of the GPU nodes."""
        return TrainJobSettings(
            recipe=self.recipe(), accelerator=self.accelerator, cpu=self.cpu_request,
            memory=self.gpu_memory_request,
            node_selector=dict([self.gpu_node_selector]) if self.gpu_node_selector else {},
            toleration=self.gpu_toleration, secrets=self.secrets,
            checkpoint_pvc=self.checkpoint_pvc, checkpoint_mount=CHECKPOINT_MOUNT,
            timeout_s=self.gpu_timeout_s)


def variants(params_file: str | Path = REPO / "params.yaml") -> tuple[list[str], str, str]:
    """(variant names, candidate, baseline) from a params file."""
    from tracer1.stages import load_params

    forecast = load_params(params_file).forecast
    return list(forecast.variants), forecast.candidate, forecast.baseline


def configure(task: dsl.PipelineTask, stage: str, cluster: Cluster,
              image: Any = None) -> dsl.PipelineTask:
    """Image, resources, retries, timeout, caching, secrets and the run id for one task."""
    task.set_display_name(stage)
    if image is not None:  # the run's `image` parameter, resolved when the run starts
        task.set_container_image(image)
    task.set_cpu_request(cluster.cpu_request)
    training = stage.split("@")[0] in GPU_STAGES
    # A TrainJob's nodes hold the GPUs; the task's own pod only submits it and waits.
    gpu = training and not cluster.distributed
    timeout = cluster.gpu_timeout_s if training else cluster.timeout_s
    kubernetes.set_timeout(task, timeout)
    # Argo counts backoff_max_duration from the first attempt's start: it must cover every
    # attempt running to its deadline, or a long stage is never retried.
    task.set_retry(cluster.retries, backoff_duration=cluster.retry_backoff, backoff_factor=2,
                   backoff_max_duration=f"{(cluster.retries + 1) * (timeout + 3600)}s")
    task.set_caching_options(True)
    kubernetes.use_field_path_as_env(task, env_name=PIPELINE_ID_ENV, field_path=RUN_ID_FIELD)
    for secret, keys in cluster.secrets.items():
        kubernetes.use_secret_as_env(task, secret_name=secret,
                                     secret_key_to_env={key: key for key in keys},
                                     optional=True)
    if gpu:
        _checkpoints(task, cluster)
        task.set_memory_request(cluster.gpu_memory_request)
        task.set_accelerator_type(cluster.accelerator)
        task.set_accelerator_limit(cluster.accelerator_count)
        if cluster.gpu_node_selector:
            kubernetes.add_node_selector(task, *cluster.gpu_node_selector)
        if cluster.gpu_toleration:
            kubernetes.add_toleration(task, key=cluster.gpu_toleration, operator="Exists",
                                      effect="NoSchedule")
    elif stage == "prepare_base":
        task.set_memory_request(cluster.base_memory_request)
    else:
        task.set_memory_request(cluster.memory_request)
    return task


def _checkpoints(task: dsl.PipelineTask, cluster: Cluster) -> None:
    """Mount the checkpoint volume and point the stage at it (`tracer1.workspace`)."""
    if cluster.checkpoint_pvc:
        kubernetes.mount_pvc(task, pvc_name=cluster.checkpoint_pvc, mount_path=CHECKPOINT_MOUNT)
        task.set_env_variable(CHECKPOINT_ROOT_ENV, CHECKPOINT_MOUNT)


def trainers(cluster: Cluster, image: Any) -> dict[str, Any]:
    """The component of each training stage: a pod (one GPU) or a TrainJob (`distributed`)."""
    if not cluster.distributed:
        return {"sft": c.sft, "stage1_grpo": c.stage1_grpo, "stage2_rft": c.stage2_rft}
    job = settings_json(cluster.trainjob())
    return {stage: functools.partial(getattr(c, f"{stage}_trainjob"), image=image, job=job)
            for stage in GPU_STAGES}


def check_batches(params_file: str | Path, cluster: Cluster) -> None:
    """Every training stage's global batch splits over the cluster's ranks (a ConfigError
    naming the params file and field at compile time, not on the cluster)."""
    from tracer1.distributed import per_device_batch
    from tracer1.stages import load_params

    params = load_params(params_file)
    processes = cluster.num_nodes * cluster.accelerator_count
    for stage in GPU_STAGES:
        per_device_batch(getattr(params, stage).batch_size,
                         f"{params_file}: {stage}.batch_size", processes=processes)


def build_pipeline(params_file: str | Path = REPO / "params.yaml",
                   cluster: Cluster | None = None):
    """The pipeline function for the variants named in `params_file`."""
    names, candidate, baseline = variants(params_file)
    cluster = cluster or Cluster()
    check_batches(params_file, cluster)

    @dsl.pipeline(name="tracer1", description="TraceR1: expert trajectories → SFT → "
                  "Stage-1 trajectory GRPO → frozen-tool feedback → Stage-2 grounded RFT → "
                  "evaluation → eval-gated promotion in the MLflow registry")
    def tracer1(params_file: str = "/app/params.yaml", image: str = c.IMAGE,
                data_version: str = "", data_repo: str = "", base_model: str = "",
                seed: str = ""):
        """`image`: the project image every stage runs in (default: the one compiled in);
        `data_version`: a git revision whose DVC-tracked trajectories are fetched from
        the DVC remote of `data_repo` (a git URL) instead of being rebuilt; `base_model`
        (a path, hub id, .gguf file or DIST:PATH; `prepare_base` converts it) and `seed`
        (the training seed) override the params file when set
        (`tracer1.workspace.RUN_PARAMETERS`)."""
        run_args = {"params_file": params_file, "base_model": base_model, "seed": seed}
        data = configure(c.build_dataset(**run_args, data_repo=data_repo,
                                         data_version=data_version),
                         "build_dataset", cluster, image)
        trajectories = data.outputs["trajectories"]
        valid = configure(c.validate_dataset(**run_args, trajectories=trajectories),
                          "validate_dataset", cluster, image)
        # The base model once (a GGUF de-quantised, a hub model downloaded): every stage
        # that loads a planner gets this directory, never the source.
        base = configure(c.prepare_base(**run_args), "prepare_base", cluster,
                         image).outputs["base"]
        models = {}
        train = trainers(cluster, image)
        for variant in names:
            common = {**run_args, "variant": variant, "base": base}
            sft = configure(train["sft"](**common, trajectories=trajectories).after(valid),
                            f"sft@{variant}", cluster, image)
            stage1 = configure(train["stage1_grpo"](**common, trajectories=trajectories,
                                                    sft_model=sft.outputs["model"]),
                               f"stage1_grpo@{variant}", cluster, image)
            feedback = configure(c.collect_feedback(**common,
                                                    stage1_model=stage1.outputs["model"]),
                                 f"collect_feedback@{variant}", cluster, image)
            stage2 = configure(train["stage2_rft"](**common,
                                                   stage1_model=stage1.outputs["model"],
                                                   feedback=feedback.outputs["feedback"]),
                               f"stage2_rft@{variant}", cluster, image)
            models[variant] = (sft, stage1, stage2)
        sft, stage1, stage2 = models[candidate]
        evaluation = configure(c.evaluate(
            **run_args, trajectories=trajectories, base=base,
            sft_model=sft.outputs["model"], stage1_model=stage1.outputs["model"],
            stage2_model=stage2.outputs["model"],
            reactive_model=models[baseline][2].outputs["model"]),
            "evaluate", cluster, image)
        # The gate decides on every run (never cached: the champion may have moved).
        decision = configure(c.gate(**run_args, report=evaluation.outputs["report"]),
                             "gate", cluster, image)
        decision.set_caching_options(False)
        with dsl.If(decision.outputs["decision"] == "promote", name="gate-passed"):
            promotion = configure(c.promote(**run_args, report=evaluation.outputs["report"],
                                            candidate=stage2.outputs["model"], base=base,
                                            data_metrics=data.outputs["metrics"]),
                                  "promote", cluster, image)
            promotion.set_caching_options(False)

    return tracer1
