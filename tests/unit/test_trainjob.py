"""Multi-GPU training on Kubernetes without a cluster: the pipeline compiled for a launch
recipe submits a Kubeflow Trainer TrainJob per training stage (the default stays one pod),
the TrainJob manifest passes the Trainer API's own models and runs the image's `tracer1
launch -- run-stage`, artifacts move through the shared S3 store (moto, in process)."""

from __future__ import annotations

import json

import pytest
import yaml

from pipelines.compile import compile_pipeline
from tests.helpers import REPO
from tracer1.config import ConfigError
from tracer1.training.launch import LaunchRecipe, Rollouts, parse_recipe_json, stage_of
from tracer1.trainjob import (
    TrainJobFailed,
    TrainJobSettings,
    node_command,
    parse_settings,
    run_trainjob,
    settings_json,
    trainjob_name,
)
from tracer1.workspace import STAGE_IO

RECIPE = REPO / "recipes/launch/qwen2.5-vl-7b-2x8.yaml"
CLUSTER_PARAMS = REPO / "recipes/cluster-qwen2.5-vl-7b.yaml"
TRAINING = ("sft", "stage1-grpo", "stage2-rft")


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    out = compile_pipeline(tmp_path_factory.mktemp("kfp") / "multi.yaml", CLUSTER_PARAMS,
                           launch=RECIPE)
    pipeline, platform = yaml.safe_load_all(out.read_text())
    return {**pipeline, **platform}


def test_a_multi_gpu_recipe_makes_every_training_task_a_trainjob(multi):
    executors = multi["deploymentSpec"]["executors"]
    training = {n: e for n, e in executors.items() if n.startswith(
        tuple(f"exec-{s}" for s in TRAINING))}
    assert len(training) == 6  # 3 stages × 2 variants
    for name, executor in training.items():
        container = executor["container"]
        assert name.split("-2")[0].endswith("-trainjob"), name
        assert container["command"][-2:] == ["tracer1", "trainjob"]
        # The pod submits and waits: the GPUs are the TrainJob's nodes', not its own.
        assert "accelerator" not in container.get("resources", {}), name
        args = container["args"]
        stage = args[0]
        pairs = list(zip(args, args[1:], strict=False))
        named = {flag: {a.split("=", 1)[0] for f, a in pairs if f == flag}
                 for flag in ("--input", "--output", "--local")}
        assert named["--input"] == set(STAGE_IO[stage].inputs), args
        assert named["--output"] == named["--local"] == STAGE_IO[stage].produced, args
        assert all(".uri}}" in a for f, a in pairs if f in ("--input", "--output"))
    platform = multi["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name in training:
        assert "nodeSelector" not in platform[name] and "tolerations" not in platform[name]
    assert not any("accelerator" in e["container"].get("resources", {})
                   for e in executors.values())


def test_the_compiled_job_settings_are_the_recipe(multi):
    tasks = multi["root"]["dag"]["tasks"]
    task = next(t for n, t in tasks.items() if n.startswith("stage1-grpo-trainjob"))
    job = task["inputs"]["parameters"]["job"]["runtimeValue"]["constant"]
    settings = parse_settings(job)
    assert (settings.recipe.nodes, settings.recipe.gpus_per_node) == (2, 8)
    assert settings.recipe.rollouts.engine == "vllm"
    assert settings.node_selector == {"nvidia.com/gpu.present": "true"}
    assert set(settings.secrets) == {"tracer1-s3", "tracer1-mlflow"}


def test_the_default_cluster_keeps_one_pod_per_training_stage():
    text = (REPO / "pipelines/tracer1.yaml").read_text()
    assert "trainjob" not in text


def test_a_batch_that_does_not_split_fails_the_compile_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"params.yaml: sft.batch_size: 4 .* 16 processes"):
        compile_pipeline(tmp_path / "x.yaml", REPO / "params.yaml", launch=RECIPE)


class FakeApi:
    """The CustomObjectsApi calls `submit_and_wait` makes, against one in-memory job."""

    def __init__(self, ends: str = "Complete", existing: dict | None = None):
        self.ends, self.created, self.deleted, self.job = ends, [], [], existing
        self.gets = 0

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        from kubernetes.client.exceptions import ApiException

        assert (group, version, plural) == ("trainer.kubeflow.org", "v1alpha1", "trainjobs")
        if self.job is not None:
            raise ApiException(status=409)
        self.created.append(body)
        self.job = body

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        from kubernetes.client.exceptions import ApiException

        if self.job is None:
            raise ApiException(status=404)
        self.gets += 1
        if self.gets >= 2 and self.created:  # running at first, then it ends
            self.job = {**self.job, "status": {"conditions": [
                {"type": self.ends, "status": "True", "message": "rank 3 exited 1"}]}}
        return self.job

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.deleted.append(name)
        self.job = None


@pytest.fixture
def s3(monkeypatch):
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        client = boto3.client("s3")
        client.create_bucket(Bucket="art")
        yield client


SETTINGS = TrainJobSettings(
    recipe=LaunchRecipe(nodes=2, gpus_per_node=8, rollouts=Rollouts(engine="vllm")),
    node_selector={"nvidia.com/gpu.present": "true"}, toleration="nvidia.com/gpu",
    secrets={"tracer1-s3": ("AWS_ACCESS_KEY_ID",)}, checkpoint_pvc="ckpt", poll_s=0)
URIS = {"inputs": {"trajectories": "s3://art/t", "base": "s3://art/b", "model": "s3://art/s"},
        "outputs": {"model": "s3://art/out/model", "metrics": "s3://art/out/metrics"}}


def run(tmp_path, api, **overrides):
    kwargs = dict(settings=SETTINGS, image="img:1", params_file="/app/params.yaml",
                  variant="anticipatory", run_parameters={"seed": "3"}, **URIS,
                  local_outputs={"model": str(tmp_path / "model"),
                                 "metrics": str(tmp_path / "metrics.json")}, api=api)
    return run_trainjob("stage1_grpo", **{**kwargs, **overrides})


def test_the_trainjob_runs_the_launcher_on_every_node_and_its_outputs_come_back(
        tmp_path, s3, monkeypatch):
    monkeypatch.setenv("TRACER1_PIPELINE_ID", "run-7")
    s3.put_object(Bucket="art", Key="out/model/adapter_config.json", Body=b"{}")
    s3.put_object(Bucket="art", Key="out/metrics", Body=b'{"reward": 0.5}')
    api = FakeApi()
    name = run(tmp_path, api)
    assert name == trainjob_name("stage1_grpo", "anticipatory", "run-7")
    [job] = api.created
    spec = job["spec"]
    assert spec["runtimeRef"]["name"] == "torch-distributed"
    trainer = spec["trainer"]
    assert (trainer["numNodes"], trainer["numProcPerNode"]) == (2, 8)
    assert trainer["resourcesPerNode"]["limits"] == {"nvidia.com/gpu": "8"}
    assert trainer["image"] == "img:1"
    command = trainer["command"]
    assert command[3:6] == ["tracer1", "launch", "--recipe-json"]
    assert parse_recipe_json(command[6]) == SETTINGS.recipe
    assert command[7] == "--" and stage_of(command[8:]) == "stage1_grpo"
    assert "--input" in command and "trajectories=s3://art/t" in command
    assert "model=s3://art/out/model" in command and "seed=3" in command
    env = {e["name"]: e for e in trainer["env"]}
    assert env["TRACER1_PIPELINE_ID"]["value"] == "run-7"
    assert env["TRACER1_CHECKPOINT_ROOT"]["value"] == "/checkpoints"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "tracer1-s3"
    pod = spec["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"][
        "replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "ckpt"
    # The outputs rank 0 wrote to S3 are at the task's local artifact paths.
    assert (tmp_path / "model/adapter_config.json").read_text() == "{}"
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"reward": 0.5}


def test_a_failed_trainjob_fails_the_task_with_its_message(tmp_path, s3):
    with pytest.raises(TrainJobFailed, match="failed: rank 3 exited 1"):
        run(tmp_path, FakeApi(ends="Failed"))


def test_a_retried_task_waits_for_its_running_trainjob(tmp_path, s3, monkeypatch):
    s3.put_object(Bucket="art", Key="out/model/a", Body=b"1")
    s3.put_object(Bucket="art", Key="out/metrics", Body=b"{}")
    running = {"metadata": {"name": "x"}, "status": {}}
    api = FakeApi(existing=running)
    api.created.append("earlier attempt")  # so the fake ends the job after a poll
    run(tmp_path, api)
    assert api.created == ["earlier attempt"] and not api.deleted  # not submitted twice


def test_a_trainjob_reads_and_writes_only_the_shared_store(tmp_path):
    bad = {**URIS["inputs"], "trajectories": "/local/t"}
    with pytest.raises(ValueError, match="not s3:// URIs: trajectories=/local/t"):
        run(tmp_path, FakeApi(), inputs=bad)
    with pytest.raises(ValueError, match="inputs must be"):
        run(tmp_path, FakeApi(), inputs={"trajectories": "s3://a/b"})


def test_settings_round_trip_and_bad_settings_name_the_field():
    assert parse_settings(settings_json(SETTINGS)) == SETTINGS
    with pytest.raises(ConfigError, match="--job: recipe: strategy"):
        parse_settings(json.dumps({"recipe": {"strategy": "zero"}}))
    with pytest.raises(ConfigError, match="--job: gpus: unknown field"):
        parse_settings(json.dumps({"gpus": 8}))


def test_node_command_is_a_launch_of_run_stage():
    cmd = node_command("sft", LaunchRecipe(gpus_per_node=4), ["--params", "p.yaml"])
    assert cmd[-5:] == ["--", "run-stage", "sft", "--params", "p.yaml"]
    assert len(trainjob_name("stage2_rft", "a" * 80, "r")) <= 63


def test_run_stage_writes_outputs_to_s3(tmp_path, s3, monkeypatch):
    """`run-stage` with an s3:// output (what a TrainJob's rank 0 does): prepare_base of the
    tiny model uploads its folder under the URI."""
    from tests.conftest import SMALL_PARAMS
    from tracer1 import storage
    from tracer1.workspace import run_stage

    params = tmp_path / "params.yaml"
    params.write_text(SMALL_PARAMS)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    run_stage("prepare_base", params, {}, {"base": "s3://art/runs/base"})
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="art")["Contents"]]
    assert keys == ["runs/base/source.json"]
    got = storage.download("s3://art/runs/base", tmp_path / "back")
    assert json.loads((got / "source.json").read_text())["kind"] == "none"
    with pytest.raises(FileNotFoundError, match="s3://art/none: no such object or folder"):
        storage.download("s3://art/none", tmp_path / "none")
