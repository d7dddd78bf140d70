"""Which process of a distributed training run this is, and the few collectives the stages use.

A training stage runs unchanged as one process or as N (`tracer1 launch`, `accelerate
launch`, `torchrun`): every rank runs the stage function on the same inputs, and the
trainers split the batches among them. Files, MLflow runs and the registry are written
by rank 0 alone (`is_main`); the others compute and wait.

Before the process group exists (before a trainer's arguments are built) the rank comes
from the launcher's environment (``RANK``, ``WORLD_SIZE``), so a stage can tell its role
from its first line. torch is never imported here: a process that has not loaded
``torch.distributed`` has no process group to ask.

>>> rank({"RANK": "3", "WORLD_SIZE": "4"}), world_size({"RANK": "3", "WORLD_SIZE": "4"})
(3, 4)
>>> per_device_batch(64, "stage1_grpo.batch_size", processes=16)
4
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from tracer1.config import ConfigError


def _group() -> Any | None:
    """The initialised default process group's module (`torch.distributed`), or None."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist
    return None


def rank(environ: Mapping[str, str] | None = None) -> int:
    """This process's global rank: the process group's, else ``RANK``, else 0."""
    dist = _group() if environ is None else None
    if dist is not None:
        return int(dist.get_rank())
    return int((os.environ if environ is None else environ).get("RANK", "0") or 0)


def world_size(environ: Mapping[str, str] | None = None) -> int:
    """How many processes train together: the process group's size, else ``WORLD_SIZE``."""
    dist = _group() if environ is None else None
    if dist is not None:
        return int(dist.get_world_size())
    return int((os.environ if environ is None else environ).get("WORLD_SIZE", "1") or 1)


def is_main() -> bool:
    """True on rank 0: the one process that writes model directories, reports and runs."""
    return rank() == 0


def local_rank() -> int:
    """This process's rank on its node (``LOCAL_RANK``; 0 in a single process)."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def init() -> None:
    """Join the process group now when launched as several ranks, for the barriers a stage
    needs before its trainer exists (`tracer1.workspace`: one rank fills the scratch
    folder, the others wait). The trainers reuse it: accelerate keeps one shared state."""
    if world_size() > 1 and _group() is None:
        import torch
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())


def barrier() -> None:
    """Wait until every rank gets here (nothing to wait for in a single process)."""
    dist = _group()
    if dist is not None and dist.get_world_size() > 1:
        dist.barrier()


def broadcast(value: Any) -> Any:
    """Rank 0's `value` on every rank (a picklable object); `value` itself in one process."""
    dist = _group()
    if dist is None or dist.get_world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def per_device_batch(total: int, field: str, *, processes: int | None = None) -> int:
    """The per-process share of a global batch `total` (params' `field`) over `processes`
    (default: this run's world size). The params choose the global batch, so a run on 1 or
    16 GPUs trains on the same number of rows a step; a batch that does not split evenly is
    an error naming the field, not a silently different batch."""
    processes = world_size() if processes is None else processes
    if total % processes:
        raise ConfigError(f"{field}: {total} is the global batch and does not split evenly "
                          f"over {processes} processes (choose a multiple of {processes})")
    return total // processes


__all__ = ["barrier", "broadcast", "init", "is_main", "local_rank", "per_device_batch", "rank",
           "world_size"]
