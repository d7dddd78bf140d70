"""A training stage as a Kubeflow Trainer `TrainJob`: N nodes × G GPUs of the project image.

When a pipeline's training task needs more than one GPU (`LaunchRecipe.processes` > 1),
its pod does not train: it submits a TrainJob on the ``torch-distributed``
ClusterTrainingRuntime and waits for it (`run_trainjob`, the `tracer1 trainjob` command).
Every node of the job runs the same image's

    tracer1 launch --recipe-json <recipe> -- run-stage <stage> --input NAME=s3://... ...

`tracer1 launch` starts the node's ranks from the rendezvous the runtime sets
(``PET_NODE_RANK``, ``PET_MASTER_ADDR``, ...), and `run-stage` reads the stage's input
artifacts from the shared S3 store and rank 0 writes its outputs there, at the very URIs
of the task's output artifacts; the waiting pod then copies them to its local output
paths for the KFP launcher, so the pipeline sees a plain task. A retried task finds its
TrainJob by name (the pipeline run, stage and variant): a running one is waited for
again, a failed one replaced. The manifest is built with the `kubeflow-trainer-api`
models, so a field the API does not have fails here, not in the cluster.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tracer1.tracking import PIPELINE_ID_ENV
from tracer1.training.launch import LaunchRecipe, recipe_json

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "trainer.kubeflow.org", "v1alpha1", "trainjobs"
RUNTIME = "torch-distributed"
"""The ClusterTrainingRuntime Kubeflow Trainer installs for PyTorch (torchrun rendezvous)."""
NODE = "node"
"""The replicated job and container name of the torch runtime's nodes."""
ENTRYPOINT = ["/usr/bin/tini", "--", "/app/scripts/entrypoint.sh"]
"""The image's ENTRYPOINT (a TrainJob's `command` replaces it, as a component's does)."""
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class TrainJobFailed(RuntimeError):
    """The TrainJob ended Failed (or did not finish in time)."""


@dataclass(frozen=True)
class TrainJobSettings:
    """Where a TrainJob's nodes run: what the pipeline's `Cluster` says about GPU pods."""

    recipe: LaunchRecipe = field(default_factory=LaunchRecipe)
    accelerator: str = "nvidia.com/gpu"
    cpu: str = "8"
    memory: str = "32Gi"
    """Requests per node."""
    node_selector: dict[str, str] = field(default_factory=dict)
    toleration: str | None = None
    """A taint key tolerated on the nodes (operator Exists, effect NoSchedule)."""
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Kubernetes secret → keys exported to every node (S3 and MLflow settings)."""
    checkpoint_pvc: str | None = None
    """A ReadWriteMany claim mounted on every node at `checkpoint_mount`: the scratch
    project (and rank 0's checkpoints) every rank reads, and a retry resumes from."""
    checkpoint_mount: str = "/checkpoints"
    timeout_s: int = 24 * 3600
    poll_s: float = 30.0


def trainjob_name(stage: str, variant: str | None, pipeline_id: str) -> str:
    """A DNS-1123 name, the same for every attempt of one task of one pipeline run.

    >>> trainjob_name("stage1_grpo", "anticipatory", "run-1")
    'tracer1-stage1-grpo-anticipatory-3abf9572'
    """
    digest = hashlib.sha256(f"{pipeline_id}/{stage}/{variant}".encode()).hexdigest()[:8]
    base = re.sub(r"[^a-z0-9-]+", "-", f"tracer1-{stage}-{variant or ''}".lower()).strip("-")
    return f"{base[:63 - 9]}-{digest}"


def node_command(stage: str, recipe: LaunchRecipe, stage_args: list[str]) -> list[str]:
    """What every node of the TrainJob runs: the launcher around ``run-stage``."""
    return [*ENTRYPOINT, "tracer1", "launch", "--recipe-json", recipe_json(recipe), "--",
            "run-stage", stage, *stage_args]


def trainjob_manifest(name: str, namespace: str, image: str, command: list[str],
                      settings: TrainJobSettings, env: Mapping[str, str]) -> dict[str, Any]:
    """The TrainJob, checked against the Trainer API's models (`kubeflow_trainer_api`)."""
    from kubeflow_trainer_api.models import TrainerV1alpha1TrainJob

    r = settings.recipe
    variables: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    for secret, keys in sorted(settings.secrets.items()):
        variables += [{"name": key, "valueFrom": {"secretKeyRef": {
            "name": secret, "key": key, "optional": True}}} for key in keys]
    pod: dict[str, Any] = {}
    if settings.node_selector:
        pod["nodeSelector"] = dict(settings.node_selector)
    if settings.toleration:
        pod["tolerations"] = [{"key": settings.toleration, "operator": "Exists",
                               "effect": "NoSchedule"}]
    if settings.checkpoint_pvc:
        pod["volumes"] = [{"name": "checkpoints", "persistentVolumeClaim": {
            "claimName": settings.checkpoint_pvc}}]
        pod["containers"] = [{"name": NODE, "volumeMounts": [{
            "name": "checkpoints", "mountPath": settings.checkpoint_mount}]}]
    spec: dict[str, Any] = {
        "runtimeRef": {"apiGroup": GROUP, "kind": "ClusterTrainingRuntime", "name": RUNTIME},
        "activeDeadlineSeconds": settings.timeout_s,
        "trainer": {
            "image": image,
            "command": command,
            "env": variables,
            "numNodes": r.nodes,
            "numProcPerNode": r.gpus_per_node,
            "resourcesPerNode": {
                "limits": {settings.accelerator: str(r.gpus_per_node)},
                "requests": {"cpu": settings.cpu, "memory": settings.memory},
            },
        },
    }
    if pod:
        spec["runtimePatches"] = [{"manager": "tracer1", "trainingRuntimeSpec": {"template": {
            "spec": {"replicatedJobs": [{"name": NODE, "template": {"spec": {
                "template": {"spec": pod}}}}]}}}}]
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "TrainJob",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/part-of": "tracer1"}},
            "spec": spec}
    model = TrainerV1alpha1TrainJob.from_dict(body)  # a pydantic error names the field
    return model.to_dict()


def condition(job: Mapping[str, Any]) -> tuple[str, str] | None:
    """("Complete" | "Failed", message) once the TrainJob has ended, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"], cond.get("message") or cond.get("reason") or ""
    return None


def _api() -> Any:
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


def submit_and_wait(manifest: dict[str, Any], settings: TrainJobSettings,
                    api: Any = None, sleep: Any = time.sleep) -> None:
    """Create the TrainJob (or attach to this task's earlier one) and wait for its end."""
    from kubernetes.client.exceptions import ApiException

    api = api or _api()
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    args = (GROUP, VERSION, namespace, PLURAL)
    try:
        api.create_namespaced_custom_object(*args, manifest)
        logger.info("trainjob %s/%s: created", namespace, name)
    except ApiException as exc:
        if exc.status != 409:
            raise
        ended = condition(api.get_namespaced_custom_object(*args, name))
        if ended is None:
            logger.info("trainjob %s/%s: running already (a retried task): waiting", namespace,
                        name)
        else:  # a failed (or finished) attempt's job: replace it
            api.delete_namespaced_custom_object(*args, name)
            while _exists(api, args, name):
                sleep(settings.poll_s)
            api.create_namespaced_custom_object(*args, manifest)
            logger.info("trainjob %s/%s: replaced the %s one", namespace, name, ended[0])
    deadline = time.monotonic() + settings.timeout_s + 3600
    while True:
        ended = condition(api.get_namespaced_custom_object(*args, name))
        if ended is not None:
            if ended[0] == "Failed":
                raise TrainJobFailed(f"trainjob {namespace}/{name} failed: {ended[1]}")
            logger.info("trainjob %s/%s: complete", namespace, name)
            return
        if time.monotonic() > deadline:
            raise TrainJobFailed(f"trainjob {namespace}/{name}: not finished in time")
        sleep(settings.poll_s)


def _exists(api: Any, args: tuple, name: str) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        api.get_namespaced_custom_object(*args, name)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def namespace() -> str:
    """This pod's namespace (the TrainJob goes there): the service account's, else
    ``TRACER1_NAMESPACE``, else ``default``."""
    if NAMESPACE_FILE.is_file():
        return NAMESPACE_FILE.read_text(encoding="utf-8").strip()
    return os.environ.get("TRACER1_NAMESPACE", "default")


def run_trainjob(stage: str, *, settings: TrainJobSettings, image: str, params_file: str,
                 variant: str | None, run_parameters: Mapping[str, str],
                 inputs: Mapping[str, str], outputs: Mapping[str, str],
                 local_outputs: Mapping[str, str], api: Any = None) -> str:
    """Run `stage` as a TrainJob reading `inputs` and writing `outputs` (artifact name →
    ``s3://`` URI), then copy each output to its `local_outputs` path. The job's name."""
    from tracer1 import storage
    from tracer1.workspace import STAGE_IO

    io = STAGE_IO[stage]
    for kind, given, wanted in (("inputs", inputs, io.inputs), ("outputs", outputs,
                                                                io.produced)):
        if set(given) != set(wanted):
            raise ValueError(f"{stage}: {kind} must be {sorted(wanted)}, got {sorted(given)}")
        bad = [f"{k}={v}" for k, v in given.items() if not storage.is_remote(v)]
        if bad:
            raise ValueError(f"{stage}: a TrainJob reads and writes the shared S3 store; "
                             f"not s3:// URIs: {', '.join(bad)}")
    pipeline_id = os.environ.get(PIPELINE_ID_ENV, "").strip() or "manual"
    stage_args = ["--params", params_file]
    stage_args += [a for k, v in sorted(run_parameters.items()) for a in ("--set", f"{k}={v}")]
    if variant:
        stage_args += ["--variant", variant]
    stage_args += [a for k, v in sorted(inputs.items()) for a in ("--input", f"{k}={v}")]
    stage_args += [a for k, v in sorted(outputs.items()) for a in ("--output", f"{k}={v}")]
    env = {PIPELINE_ID_ENV: pipeline_id}
    if settings.checkpoint_pvc:
        from tracer1.workspace import CHECKPOINT_ROOT_ENV

        env[CHECKPOINT_ROOT_ENV] = settings.checkpoint_mount
    name = trainjob_name(stage, variant, pipeline_id)
    manifest = trainjob_manifest(name, namespace(), image,
                                 node_command(stage, settings.recipe, stage_args), settings, env)
    submit_and_wait(manifest, settings, api=api)
    for key, path in local_outputs.items():
        storage.download(outputs[key], path)
    return name


def settings_json(settings: TrainJobSettings) -> str:
    import json

    return json.dumps(asdict(settings), sort_keys=True, separators=(",", ":"))


def parse_settings(text: str, source: str = "--job") -> TrainJobSettings:
    """`settings_json`'s output back, strictly (errors name `source` and the field)."""
    import json

    from tracer1.config import ConfigError, from_dict
    from tracer1.training.launch import check_recipe

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from None
    settings = from_dict(TrainJobSettings, data, source)
    check_recipe(settings.recipe, f"{source}: recipe")
    return settings


__all__ = [
    "RUNTIME",
    "TrainJobFailed",
    "TrainJobSettings",
    "condition",
    "node_command",
    "parse_settings",
    "run_trainjob",
    "settings_json",
    "submit_and_wait",
    "trainjob_manifest",
    "trainjob_name",
]
