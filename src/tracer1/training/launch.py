"""`tracer1 launch`: a training stage as N processes on M nodes, through `accelerate launch`.

    tracer1 launch --processes 2 -- stage1-grpo --params params.yaml        # 2 ranks here
    tracer1 launch --recipe recipes/launch/qwen2.5-vl-7b-2x8.yaml -- run-stage stage1_grpo ...

The stage runs unchanged: every rank calls the same stage function on the same inputs,
the trainers split each global batch among the ranks (`tracer1.distributed`), and rank 0
alone writes the model directory, the checkpoints, the reports and the MLflow run.
`params.yaml` chooses nothing about the cluster; a *launch recipe* (`LaunchRecipe`, a
YAML file under ``recipes/launch/``) does: nodes, GPUs per node, the strategy (DDP;
FSDP or DeepSpeed ZeRO through an accelerate config file in ``recipes/accelerate/``) and
the rollout engine of the GRPO stages (`Rollouts`: ``transformers`` generate, or trl's
vLLM in colocate or server mode). The launcher hands the recipe to its ranks as JSON in
``TRACER1_LAUNCH`` (`current`).

Multi-node rendezvous comes from the environment Kubeflow Trainer's torch runtime sets on
every node (``PET_NNODES``, ``PET_NODE_RANK``, ``PET_MASTER_ADDR``, ``PET_MASTER_PORT``)
or the plain torchrun names (``NODE_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). A rank that
dies takes the launch down: torch's elastic agent stops the other ranks and the launch
exits non-zero, so a pipeline retries the stage (and it resumes from its checkpoint).

Note: ``accelerate launch --cpu --num_processes 2`` starts *one* process (accelerate's
simple launcher ignores the count without MPI); several CPU ranks need the multi-process
launcher (``--multi_gpu``), which on a machine without CUDA runs gloo. `command` does that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tracer1.config import ConfigError, from_dict, read_mapping

RECIPE_ENV = "TRACER1_LAUNCH"
"""The launch recipe as JSON, set by the launcher for its ranks."""
TRAINING_STAGES = ("sft", "stage1_grpo", "stage2_rft")
"""The stages that may run as several processes; the others run as one."""
STRATEGIES = ("ddp", "fsdp", "deepspeed")
ACCELERATE_CONFIGS = {"fsdp": "recipes/accelerate/fsdp.yaml",
                      "deepspeed": "recipes/accelerate/deepspeed-zero3.yaml"}
"""The accelerate config file a strategy reads by default (relative to the project root);
DDP needs none."""
ENGINES = ("transformers", "vllm")
VLLM_MODES = ("colocate", "server")
DEFAULT_PORT = "29500"


class LaunchError(RuntimeError):
    """The launch cannot start as asked (a recipe that does not fit this machine)."""


@dataclass(frozen=True)
class Rollouts:
    """How the GRPO stages (and the closed-loop planner, `tracer1.policy.backends`) generate."""

    engine: str = "transformers"
    """``transformers``: `model.generate` in the training process; ``vllm``: trl's vLLM
    integration (needs a CUDA GPU and the ``vllm`` extra: ``pip install 'tracer1[vllm]'``);
    trl syncs the LoRA-merged weights into vLLM after every optimizer step."""
    vllm_mode: str = "colocate"
    """``colocate``: vLLM shares each training GPU (`gpu_memory_utilization` of it);
    ``server``: a separate ``trl vllm-serve`` at `server_url` generates for every rank."""
    gpu_memory_utilization: float = 0.3
    """colocate: the share of each GPU's memory vLLM reserves."""
    tensor_parallel_size: int = 1
    """colocate: GPUs one vLLM engine spans (a divisor of the GPUs per node)."""
    server_url: str | None = None
    """server: the ``trl vllm-serve`` base URL (``http://host:8000``)."""


@dataclass(frozen=True)
class LaunchRecipe:
    """The cluster shape of a training stage: nodes × processes per node, strategy, rollouts."""

    nodes: int = 1
    """Machines (Kubernetes: pods of the TrainJob, one per node)."""
    gpus_per_node: int = 1
    """Processes per node, one per GPU; on a machine without CUDA, CPU processes (gloo)."""
    strategy: str = "ddp"
    """``ddp`` (a full model per rank), ``fsdp`` or ``deepspeed`` (ZeRO-3; sharded)."""
    accelerate_config: str | None = None
    """The accelerate config file of ``fsdp`` / ``deepspeed`` (default: `ACCELERATE_CONFIGS`,
    relative to the project root); unused by ``ddp``."""
    rollouts: Rollouts = field(default_factory=Rollouts)

    @property
    def processes(self) -> int:
        """The world size: every rank on every node."""
        return self.nodes * self.gpus_per_node


def check_recipe(recipe: LaunchRecipe, source: str) -> LaunchRecipe:
    """`recipe`, or a `ConfigError` naming `source` and the offending field."""
    def bad(where: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {where}: {message}")

    for name in ("nodes", "gpus_per_node"):
        if getattr(recipe, name) < 1:
            raise bad(name, f"must be >= 1, got {getattr(recipe, name)}")
    if recipe.strategy not in STRATEGIES:
        raise bad("strategy", f"must be one of {', '.join(STRATEGIES)}, got {recipe.strategy!r}")
    r = recipe.rollouts
    if r.engine not in ENGINES:
        raise bad("rollouts.engine", f"must be one of {', '.join(ENGINES)}, got {r.engine!r}")
    if r.vllm_mode not in VLLM_MODES:
        raise bad("rollouts.vllm_mode",
                  f"must be one of {', '.join(VLLM_MODES)}, got {r.vllm_mode!r}")
    if not 0 < r.gpu_memory_utilization <= 1:
        raise bad("rollouts.gpu_memory_utilization",
                  f"must be in (0, 1], got {r.gpu_memory_utilization}")
    if r.tensor_parallel_size < 1 or recipe.gpus_per_node % r.tensor_parallel_size:
        raise bad("rollouts.tensor_parallel_size",
                  f"must divide gpus_per_node ({recipe.gpus_per_node}), "
                  f"got {r.tensor_parallel_size}")
    if r.engine == "vllm" and r.vllm_mode == "server" and not r.server_url:
        raise bad("rollouts.server_url", "required for vllm_mode: server")
    return recipe


def load_recipe(path: str | os.PathLike) -> LaunchRecipe:
    """Read a launch recipe strictly: an unknown key, a wrong type or a bad value is a
    `ConfigError` naming the file and the field."""
    data = read_mapping(path, "launch recipe", "a mapping (nodes, gpus_per_node, strategy...)")
    return check_recipe(from_dict(LaunchRecipe, data, str(path)), str(path))


def recipe_json(recipe: LaunchRecipe) -> str:
    """The recipe as the one-line JSON `current` reads back."""
    return json.dumps(asdict(recipe), sort_keys=True, separators=(",", ":"))


def parse_recipe_json(text: str, source: str = RECIPE_ENV) -> LaunchRecipe:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from None
    return check_recipe(from_dict(LaunchRecipe, data, source), source)


def current(environ: Mapping[str, str] | None = None) -> LaunchRecipe:
    """The recipe this process was launched with (`RECIPE_ENV`), else the defaults: one
    process, transformers rollouts."""
    text = (os.environ if environ is None else environ).get(RECIPE_ENV, "").strip()
    return parse_recipe_json(text) if text else LaunchRecipe()


# ----------------------------------------------------------------- what a rank uses


def grpo_rollout_args(recipe: LaunchRecipe | None = None) -> dict[str, Any]:
    """trl `GRPOConfig` settings of the recipe's rollout engine ({} for transformers).

    vLLM is checked here, before a trainer loads anything: no GPU or no ``vllm`` package is
    a `LaunchError` naming the recipe field, not an import error from inside trl.
    """
    r = (recipe or current()).rollouts
    if r.engine == "transformers":
        return {}
    require_vllm()
    if r.vllm_mode == "server":
        return {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": r.server_url}
    return {"use_vllm": True, "vllm_mode": "colocate",
            "vllm_gpu_memory_utilization": r.gpu_memory_utilization,
            "vllm_tensor_parallel_size": r.tensor_parallel_size}


def require_vllm() -> None:
    """A `LaunchError` unless vLLM can run here (a CUDA GPU and the package)."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise LaunchError("rollouts.engine: vllm needs a CUDA GPU (this machine has none); "
                          "use engine: transformers")
    if importlib.util.find_spec("vllm") is None:
        raise LaunchError("rollouts.engine: vllm is not installed: pip install "
                          "'tracer1[vllm]' (GPU images only)")


def sharded(trainer: Any) -> bool:
    """True when the trainer's model is sharded over the ranks (FSDP, DeepSpeed): only a
    collective can read its weights, so no rank may run it alone."""
    from accelerate.utils import DistributedType

    return trainer.accelerator.distributed_type in (DistributedType.FSDP,
                                                    DistributedType.DEEPSPEED)


def save_trained(trainer: Any, path: str | os.PathLike, tokenizer: Any, meta: Any) -> None:
    """Write the trained model directory from rank 0; every rank calls it. A sharded model's
    full weights are gathered first (a collective), then rank 0 writes and the others wait,
    so no rank reads or removes what rank 0 has not finished."""
    from tracer1 import distributed
    from tracer1.policy.model import save_model_dir

    state = trainer.accelerator.get_state_dict(trainer.model) if sharded(trainer) else None
    if distributed.is_main():
        model = trainer.accelerator.unwrap_model(trainer.model)
        save_model_dir(path, model, tokenizer, meta, state_dict=state)
    distributed.barrier()


# ------------------------------------------------------------------- the launcher


@dataclass(frozen=True)
class Rendezvous:
    """Where this node sits in a multi-node launch."""

    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: str = DEFAULT_PORT


def rendezvous(recipe: LaunchRecipe, environ: Mapping[str, str]) -> Rendezvous:
    """This node's rank and the master's address: Kubeflow Trainer's ``PET_*`` variables,
    else torchrun's names; a multi-node recipe without them is a `LaunchError`."""
    def env(*names: str) -> str | None:
        return next((environ[n] for n in names if environ.get(n)), None)

    if recipe.nodes == 1:
        return Rendezvous(master_port=env("PET_MASTER_PORT", "MASTER_PORT") or DEFAULT_PORT)
    nnodes = env("PET_NNODES", "NNODES")
    if nnodes is not None and nnodes.split(":")[-1] != str(recipe.nodes):
        raise LaunchError(f"the recipe names {recipe.nodes} nodes, the environment "
                          f"{nnodes} (PET_NNODES)")
    node, addr = env("PET_NODE_RANK", "NODE_RANK"), env("PET_MASTER_ADDR", "MASTER_ADDR")
    if node is None or addr is None:
        raise LaunchError(f"{recipe.nodes} nodes need this node's rank and the master's "
                          "address: PET_NODE_RANK and PET_MASTER_ADDR (set by Kubeflow "
                          "Trainer), or NODE_RANK and MASTER_ADDR")
    return Rendezvous(int(node), addr, env("PET_MASTER_PORT", "MASTER_PORT") or DEFAULT_PORT)


def stage_of(argv: Sequence[str]) -> str | None:
    """The pipeline stage a `tracer1` command line runs (``stage1-grpo ...`` or
    ``run-stage stage1_grpo ...``), or None for another command."""
    if not argv:
        return None
    if argv[0] == "run-stage":
        return argv[1] if len(argv) > 1 else None
    return argv[0].replace("-", "_")


def accelerate_config(recipe: LaunchRecipe, root: Path) -> Path | None:
    """The accelerate config file of the recipe's strategy (None: DDP, by flags)."""
    if recipe.strategy == "ddp":
        return None
    import importlib.util

    if recipe.strategy == "deepspeed" and importlib.util.find_spec("deepspeed") is None:
        raise LaunchError("strategy: deepspeed needs the deepspeed package in the image "
                          "(pip install deepspeed; not pinned by tracer1)")
    path = Path(recipe.accelerate_config or ACCELERATE_CONFIGS[recipe.strategy])
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise LaunchError(f"accelerate_config: {path}: no such file (strategy "
                          f"{recipe.strategy})")
    return path


def command(recipe: LaunchRecipe, argv: Sequence[str], *, cuda: bool,
            environ: Mapping[str, str], root: Path) -> list[str]:
    """The `accelerate launch` command line running ``tracer1 <argv>`` as the recipe's ranks.

    >>> command(LaunchRecipe(gpus_per_node=2), ["stage1-grpo"], cuda=False, environ={},
    ...         root=Path("."))[3:11]  # doctest: +NORMALIZE_WHITESPACE
    ['--num_processes', '2', '--num_machines', '1', '--machine_rank', '0',
     '--main_process_ip', '127.0.0.1']
    """
    stage = stage_of(argv)
    if recipe.processes > 1 and stage not in TRAINING_STAGES:
        raise LaunchError(f"{' '.join(argv[:2]) or '(no command)'}: only the training stages "
                          f"({', '.join(TRAINING_STAGES)}) run as several processes")
    if not cuda and recipe.strategy != "ddp":
        raise LaunchError(f"strategy: {recipe.strategy} needs CUDA GPUs; without them only "
                          "ddp runs (gloo)")
    if not cuda and recipe.rollouts.engine == "vllm":
        raise LaunchError("rollouts.engine: vllm needs a CUDA GPU (this machine has none)")
    where = rendezvous(recipe, environ)
    cmd = [sys.executable, "-m", "accelerate.commands.launch",
           "--num_processes", str(recipe.processes), "--num_machines", str(recipe.nodes),
           "--machine_rank", str(where.node_rank), "--main_process_ip", where.master_addr,
           "--main_process_port", where.master_port,
           # The trainers choose their own precision (bf16 autocast for a bf16 base).
           "--mixed_precision", "no", "--dynamo_backend", "no"]
    config = accelerate_config(recipe, root)
    if config is not None:
        cmd += ["--config_file", str(config)]
    elif recipe.processes > 1:
        cmd += ["--multi_gpu"]  # the multi-process launcher; gloo where there is no CUDA
    if not cuda:
        cmd += ["--num_cpu_threads_per_process", str(_cpu_threads(recipe.gpus_per_node))]
    return [*cmd, "-m", "tracer1.cli", *argv]


def _cpu_threads(processes: int) -> int:
    return max(1, (os.cpu_count() or 1) // processes)


def launch(recipe: LaunchRecipe, argv: Sequence[str], *,
           environ: Mapping[str, str] | None = None) -> int:
    """Run ``tracer1 <argv>`` as the recipe's ranks on this node and wait; the exit status
    (non-zero when any rank failed). SIGTERM stops the ranks with it."""
    import signal

    import torch

    from tracer1.tracking import project_root

    environ = dict(os.environ if environ is None else environ)
    cmd = command(recipe, argv, cuda=torch.cuda.is_available(), environ=environ,
                  root=project_root())
    env = {**environ, RECIPE_ENV: recipe_json(recipe)}
    proc = subprocess.Popen(cmd, env=env)

    def stop(signum: int, frame: object) -> None:
        # torch's elastic agent (the child) stops its ranks on SIGTERM and exits non-zero.
        proc.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            proc.wait()


def with_processes(recipe: LaunchRecipe, processes: int | None) -> LaunchRecipe:
    """`recipe` with `processes` per node (a command-line override), checked again."""
    if processes is None:
        return recipe
    return check_recipe(replace(recipe, gpus_per_node=processes), "--processes")


__all__ = [
    "RECIPE_ENV",
    "TRAINING_STAGES",
    "LaunchError",
    "LaunchRecipe",
    "Rendezvous",
    "Rollouts",
    "check_recipe",
    "command",
    "current",
    "grpo_rollout_args",
    "launch",
    "load_recipe",
    "parse_recipe_json",
    "recipe_json",
    "rendezvous",
    "require_vllm",
    "save_trained",
    "sharded",
    "stage_of",
    "with_processes",
]
