"""The launcher without launching: launch recipes (strict, errors naming file and field),
the `accelerate launch` command a recipe gives, the rendezvous read from Kubeflow
Trainer's environment, the rollout settings handed to trl, and rank-0-only tracking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO
from tracer1 import distributed
from tracer1.config import ConfigError
from tracer1.training.launch import (
    RECIPE_ENV,
    LaunchError,
    LaunchRecipe,
    Rollouts,
    command,
    current,
    grpo_rollout_args,
    load_recipe,
    recipe_json,
    rendezvous,
    stage_of,
    with_processes,
)

LAUNCH_RECIPES = sorted((REPO / "recipes/launch").glob("*.yaml"))
ACCELERATE_CONFIGS = sorted((REPO / "recipes/accelerate").glob("*.yaml"))


@pytest.mark.parametrize("path", LAUNCH_RECIPES, ids=lambda p: p.name)
def test_committed_launch_recipes_load(path):
    recipe = load_recipe(path)
    assert recipe.processes >= 1


def test_the_multi_node_qwen_recipe_names_nodes_gpus_and_strategy():
    from tracer1.config import load_params

    path = REPO / "recipes/launch/qwen2.5-vl-7b-2x8.yaml"
    recipe = load_recipe(path)
    assert (recipe.nodes, recipe.gpus_per_node, recipe.strategy) == (2, 8, "ddp")
    assert recipe.rollouts.engine == "vllm"
    # Its params file's global batches split evenly over its 16 ranks.
    params = load_params(REPO / "recipes/cluster-qwen2.5-vl-7b.yaml")
    for stage in ("sft", "stage1_grpo", "stage2_rft"):
        batch = getattr(params, stage).batch_size
        distributed.per_device_batch(batch, f"{stage}.batch_size",
                                     processes=recipe.processes)


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=lambda p: p.name)
def test_accelerate_configs_parse(path):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(path))
    assert config.distributed_type.value in ("FSDP", "DEEPSPEED")


@pytest.mark.parametrize(("text", "field"), [
    ("nodes: 0", "nodes"),
    ("strategy: zero", "strategy"),
    ("gpu_per_node: 8", "gpu_per_node: unknown field"),
    ("gpus_per_node: eight", "gpus_per_node: expected int"),
    ("rollouts: {engine: sglang}", "rollouts.engine"),
    ("rollouts: {vllm_mode: remote}", "rollouts.vllm_mode"),
    ("rollouts: {engine: vllm, vllm_mode: server}", "rollouts.server_url"),
    ("{gpus_per_node: 8, rollouts: {tensor_parallel_size: 3}}", "rollouts.tensor_parallel_size"),
    ("rollouts: {gpu_memory_utilization: 1.5}", "rollouts.gpu_memory_utilization"),
    ("- nodes", "expected a mapping"),
])
def test_a_bad_recipe_names_the_file_and_the_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    assert str(err.value).startswith(f"{path}: ") and field in str(err.value)


def test_a_missing_recipe_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="launch recipe not found"):
        load_recipe(tmp_path / "none.yaml")


def test_the_ranks_read_the_recipe_the_launcher_wrote():
    recipe = LaunchRecipe(nodes=2, gpus_per_node=4, rollouts=Rollouts(engine="vllm"))
    assert current({RECIPE_ENV: recipe_json(recipe)}) == recipe
    assert current({}) == LaunchRecipe()
    with pytest.raises(ConfigError, match=f"{RECIPE_ENV}: rollouts.engine"):
        current({RECIPE_ENV: json.dumps({"rollouts": {"engine": "x"}})})


def test_two_cpu_ranks_use_the_multi_process_launcher():
    cmd = command(with_processes(LaunchRecipe(), 2), ["stage1-grpo", "--params", "p.yaml"],
                  cuda=False, environ={}, root=REPO)
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--num_processes") + 1] == "2"
    # `--cpu` would make accelerate start one process whatever --num_processes says.
    assert "--multi_gpu" in cmd and "--cpu" not in cmd
    assert cmd[-5:] == ["-m", "tracer1.cli", "stage1-grpo", "--params", "p.yaml"]


def test_one_process_needs_no_multi_process_launcher():
    cmd = command(LaunchRecipe(), ["evaluate"], cuda=False, environ={}, root=REPO)
    assert "--multi_gpu" not in cmd and cmd[cmd.index("--num_processes") + 1] == "1"


def test_only_training_stages_run_as_several_processes():
    two = with_processes(LaunchRecipe(), 2)
    with pytest.raises(LaunchError, match="only the training stages"):
        command(two, ["evaluate"], cuda=False, environ={}, root=REPO)
    assert stage_of(["run-stage", "stage2_rft", "--variant", "v"]) == "stage2_rft"
    command(two, ["run-stage", "stage2_rft"], cuda=False, environ={}, root=REPO)


def test_sharded_strategies_and_vllm_need_cuda():
    for recipe, field in ((LaunchRecipe(gpus_per_node=2, strategy="fsdp"), "strategy"),
                          (LaunchRecipe(rollouts=Rollouts(engine="vllm")), "rollouts.engine")):
        with pytest.raises(LaunchError, match=field):
            command(recipe, ["sft"], cuda=False, environ={}, root=REPO)


def test_fsdp_reads_its_accelerate_config_file():
    recipe = LaunchRecipe(gpus_per_node=8, strategy="fsdp")
    cmd = command(recipe, ["sft"], cuda=True, environ={}, root=REPO)
    assert cmd[cmd.index("--config_file") + 1] == str(REPO / "recipes/accelerate/fsdp.yaml")
    assert "--multi_gpu" not in cmd
    missing = LaunchRecipe(gpus_per_node=8, strategy="fsdp", accelerate_config="no.yaml")
    with pytest.raises(LaunchError, match="accelerate_config: .*no.yaml"):
        command(missing, ["sft"], cuda=True, environ={}, root=REPO)


def test_multi_node_rendezvous_from_kubeflow_trainer_env():
    recipe = LaunchRecipe(nodes=2, gpus_per_node=8)
    env = {"PET_NNODES": "2", "PET_NODE_RANK": "1", "PET_MASTER_ADDR": "job-node-0-0.job",
           "PET_MASTER_PORT": "29400"}
    where = rendezvous(recipe, env)
    assert (where.node_rank, where.master_addr, where.master_port) == (1, "job-node-0-0.job",
                                                                       "29400")
    cmd = command(recipe, ["stage1-grpo"], cuda=True, environ=env, root=REPO)
    assert cmd[cmd.index("--num_processes") + 1] == "16"
    assert cmd[cmd.index("--machine_rank") + 1] == "1"
    with pytest.raises(LaunchError, match="PET_NODE_RANK"):
        rendezvous(recipe, {})
    with pytest.raises(LaunchError, match="names 2 nodes"):
        rendezvous(recipe, {**env, "PET_NNODES": "4"})


def test_rollout_settings_for_trl(monkeypatch):
    assert grpo_rollout_args(LaunchRecipe()) == {}
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(LaunchError, match="rollouts.engine: vllm needs a CUDA GPU"):
            grpo_rollout_args(LaunchRecipe(rollouts=Rollouts(engine="vllm")))
    monkeypatch.setattr("tracer1.training.launch.require_vllm", lambda: None)
    server = Rollouts(engine="vllm", vllm_mode="server", server_url="http://vllm:8000")
    assert grpo_rollout_args(LaunchRecipe(rollouts=server)) == {
        "use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://vllm:8000"}
    colocate = grpo_rollout_args(LaunchRecipe(rollouts=Rollouts(engine="vllm")))
    assert colocate["vllm_mode"] == "colocate" and colocate["vllm_gpu_memory_utilization"] == 0.3


def test_the_global_batch_splits_over_the_ranks():
    assert distributed.per_device_batch(64, "stage1_grpo.batch_size", processes=16) == 4
    with pytest.raises(ConfigError, match="sft.batch_size: 8 .* over 16 processes"):
        distributed.per_device_batch(8, "sft.batch_size", processes=16)


def test_ranks_other_than_0_record_no_mlflow_run(monkeypatch, tmp_path):
    from tracer1.config import TrackingConfig
    from tracer1.tracking import NullRun, stage_run

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    cfg = TrackingConfig(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    with stage_run("sft", {}, cfg=cfg) as run:
        assert isinstance(run, NullRun)
        run.log_metrics({"loss": 1.0})
        run.step_logger()(1, {"loss": 1.0})
    assert not Path(tmp_path / "mlflow.db").exists()  # rank 1 never touched the store
