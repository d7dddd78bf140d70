"""The GRPO runner both RL stages share: trl `GRPOTrainer`, resumable checkpoints, a model dir.

Checkpoints live in a sibling of the output, ``{out_dir}.ckpt/`` — not inside it,
because DVC deletes a stage's outputs before running it. A re-run after a crash or
a kill resumes from the newest *complete* `checkpoint-*` there instead of starting
over. The directory also holds `fingerprint.json`, a hash of everything that
decides the training run (GRPO config, reward functions and weights, the input
model's bytes, the dataset's rows, the token budgets); checkpoints written under a
different fingerprint are deleted, never resumed. After the final model directory
is written the checkpoints are removed.

A VLM policy (its model dir's kind) gets the dataset in trl's conversational form with
the screenshots decoded (`as_messages`); the rows are fingerprinted before that, by
their screenshot paths.

>>> run_grpo("models/anticipatory/sft", windows, [TrajectoryReward(...)], [1.0],
...          params.stage1_grpo, "models/anticipatory/stage1", params.policy,
...          stage="stage1_grpo")  # doctest: +SKIP
{'steps': 60, 'resumed_from_step': 0, 'reward_mean': 0.41, ...}
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.config import GrpoConfig, PolicyConfig
from tracer1.training.curve import (
    LogFn,
    curve_rows,
    quiet,
    train_runtime,
    trainer_callbacks,
    write_curve,
)

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

FINGERPRINT_FILE = "fingerprint.json"
CHECKPOINT_PREFIX = "checkpoint-"
KEEP_CHECKPOINTS = 2  # the newest may be cut short by a kill; the one before it is whole

RewardFunc = Callable[..., list[float | None]]


def checkpoint_dir(out_dir: str | os.PathLike) -> Path:
    """Where the checkpoints of a run writing `out_dir` live: the sibling ``{out_dir}.ckpt``."""
    out = Path(out_dir)
    return out.with_name(out.name + ".ckpt")


def describe_reward(fn: Any) -> dict[str, Any]:
    """A stable description of a reward function for the fingerprint (type and settings).

    Public attributes of a callable class are its settings (gamma, horizon, ...);
    private ones (caches) are left out.
    """
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return {"type": f"{fn.__module__}.{fn.__qualname__}"}
    state = {k: repr(v) for k, v in sorted(vars(fn).items()) if not k.startswith("_")}
    return {"type": f"{type(fn).__module__}.{type(fn).__qualname__}", "settings": state}


def run_fingerprint(
    *,
    cfg: GrpoConfig,
    reward_funcs: Sequence[RewardFunc],
    reward_weights: Sequence[float],
    model_hash: str,
    data_hash: str,
    policy_cfg: PolicyConfig,
    stage: str,
) -> str:
    """The hash a checkpoint must match to be resumed."""
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "out_dir"}
    record = {
        "stage": stage,
        "grpo": settings,
        "rewards": [describe_reward(fn) for fn in reward_funcs],
        "reward_weights": [float(w) for w in reward_weights],
        "model": model_hash,
        "data": data_hash,
        "max_prompt_tokens": policy_cfg.max_prompt_tokens,
        "max_new_tokens": policy_cfg.max_new_tokens,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def prepare_checkpoints(ckpt_dir: Path, fingerprint: str) -> Path | None:
    """Discard stale or partial checkpoints; return the newest complete one, if any.

    A checkpoint is complete when its `trainer_state.json` (the Trainer writes it last)
    parses and names the checkpoint's own step.
    """
    file = ckpt_dir / FINGERPRINT_FILE
    stored = _read_json(file).get("fingerprint") if file.is_file() else None
    if ckpt_dir.exists() and stored != fingerprint:
        logger.warning("discarding checkpoints in %s: written by a different run", ckpt_dir)
        shutil.rmtree(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    if stored != fingerprint:
        file.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
    complete: list[tuple[int, Path]] = []
    for path in ckpt_dir.glob(f"{CHECKPOINT_PREFIX}*"):
        step = _checkpoint_step(path)
        if step is None:
            logger.warning("removing incomplete checkpoint %s", path)
            shutil.rmtree(path, ignore_errors=True)
        else:
            complete.append((step, path))
    return max(complete)[1] if complete else None


def shared_resume(ckpt_dir: Path, fingerprint: str) -> Path | None:
    """`prepare_checkpoints` on rank 0, and its choice for every rank (one process: the
    same call). A rank whose own fingerprint differs from rank 0's read other data or
    another model, and a rank that cannot see rank 0's checkpoint (another node without a
    shared volume) would resume from nothing: both are errors, before any training step."""
    from tracer1 import distributed

    here = distributed.rank()
    if distributed.broadcast(fingerprint) != fingerprint:
        raise RuntimeError(f"rank {here}: this run's fingerprint differs from rank 0's: the "
                           "ranks read different data or models (every rank must see the "
                           "same inputs)")
    found = prepare_checkpoints(ckpt_dir, fingerprint) if distributed.is_main() else None
    chosen = distributed.broadcast(None if found is None else str(found.resolve()))
    if chosen is not None and _checkpoint_step(Path(chosen)) is None:
        raise RuntimeError(f"rank {here}: rank 0 resumes from {chosen}, which this rank "
                           "cannot read: ranks on several nodes need the checkpoints on a "
                           "shared volume")
    return Path(chosen) if chosen is not None else None


def _checkpoint_step(path: Path) -> int | None:
    try:
        step = int(path.name[len(CHECKPOINT_PREFIX):])
    except ValueError:
        return None
    state = _read_json(path / "trainer_state.json")
    return step if state.get("global_step") == step else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_grpo(
    model_dir_in: str | os.PathLike,
    dataset: Dataset,
    reward_funcs: Sequence[RewardFunc],
    reward_weights: Sequence[float],
    cfg: GrpoConfig,
    out_dir: str | os.PathLike,
    policy_cfg: PolicyConfig,
    *,
    stage: str,
    log: LogFn | None = None,
    curve_path: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """GRPO from the model directory `model_dir_in` on `dataset` (a `prompt` column plus
    whatever columns the rewards read); writes the model directory `out_dir` with
    `tracer1.json` stage `stage`. Resumes from ``{out_dir}.ckpt`` when a matching
    checkpoint exists. Returns steps, seconds, the step it resumed from, reward means and
    the per-step `curve` rows (also written as CSV to `curve_path` when given).
    """
    import torch
    from trl import GRPOConfig, GRPOTrainer

    from tracer1 import distributed
    from tracer1.policy.model import dir_fingerprint, load_model_dir, model_kind, text_tokenizer
    from tracer1.training.data import as_messages, clip_prompts, dataset_hash
    from tracer1.training.launch import grpo_rollout_args, save_trained

    if len(reward_funcs) != len(reward_weights):
        raise ValueError(f"{len(reward_funcs)} reward functions, {len(reward_weights)} weights")
    start = time.monotonic()
    model, tokenizer, meta = load_model_dir(model_dir_in, trainable=True)
    vision = model_kind(meta.kind).vision
    dataset = clip_prompts(dataset, text_tokenizer(tokenizer), policy_cfg.max_prompt_tokens,
                           chat=not vision)
    fingerprint = run_fingerprint(
        cfg=cfg,
        reward_funcs=reward_funcs,
        reward_weights=reward_weights,
        model_hash=dir_fingerprint(model_dir_in),
        data_hash=dataset_hash(dataset),  # before images are decoded: PIL objects hash by id
        policy_cfg=policy_cfg,
        stage=stage,
    )
    if vision:
        dataset = as_messages(dataset)
    ckpt_dir = checkpoint_dir(out_dir)

    args = GRPOConfig(
        output_dir=str(ckpt_dir),
        max_steps=cfg.max_steps,
        # `batch_size` is the global batch: the ranks share it (one process: all of it).
        per_device_train_batch_size=distributed.per_device_batch(cfg.batch_size,
                                                                 f"{stage}.batch_size"),
        num_generations=cfg.num_generations,
        max_completion_length=policy_cfg.max_new_tokens,
        learning_rate=cfg.learning_rate,
        beta=cfg.beta,
        temperature=cfg.temperature,
        reward_weights=list(reward_weights),
        seed=cfg.seed,
        data_seed=cfg.seed,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=KEEP_CHECKPOINTS,
        logging_steps=1,
        report_to="none",
        bf16=meta.lora and meta.dtype == "bfloat16",  # as in SFT: a bf16 base, autocast
        use_cpu=not torch.cuda.is_available(),
        fp16=False,
        activation_checkpointing=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        disable_tqdm=True,
        **grpo_rollout_args(),  # vLLM rollouts when the launch recipe asks for them
    )
    # Building the arguments joined the process group (several ranks): agree on the run.
    resume = shared_resume(ckpt_dir, fingerprint)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=list(reward_funcs),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=trainer_callbacks(f"{stage} {meta.variant}", log),
    )
    quiet(trainer)
    resumed_from = _checkpoint_step(resume) if resume is not None else 0
    if resume is not None:
        logger.info("%s: resuming from %s (step %d)", stage, resume, resumed_from)
    else:
        logger.info("%s: starting from %s (no checkpoint to resume)", stage, model_dir_in)
    # HF reads max_steps <= 0 as "train by epochs"; here 0 means no training at all.
    result = (
        trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
        if cfg.max_steps > 0
        else None
    )
    rows = curve_rows(trainer.state.log_history)

    out_meta = dataclasses.replace(
        meta,
        stage=stage,
        max_prompt_tokens=policy_cfg.max_prompt_tokens,
        max_new_tokens=policy_cfg.max_new_tokens,
    )
    save_trained(trainer, out_dir, tokenizer, out_meta)  # rank 0 writes; the others wait
    if distributed.is_main():
        if curve_path is not None:
            write_curve(curve_path, rows)
        # The model directory is complete: the checkpoints have served their purpose.
        shutil.rmtree(ckpt_dir, ignore_errors=True)

    metrics: dict[str, Any] = {
        "stage": stage,
        "out_dir": str(out_dir),
        "prompts": len(dataset),
        "steps": int(trainer.state.global_step),
        "resumed_from_step": resumed_from,
        "seconds": round(time.monotonic() - start, 2),
        "train_seconds": train_runtime(result),
        **reward_summary(rows),
        "curve": rows,
    }
    logger.info("%s: %s", stage, {k: v for k, v in metrics.items() if k != "curve"})
    return metrics


def reward_summary(rows: Sequence[dict[str, float]], tail: int = 10) -> dict[str, float]:
    """Each reward's mean over all steps and over the first and last `tail` steps.

    `reward` is trl's weighted total; `rewards/<name>/mean` each function's own mean,
    reported as `<name>`, `<name>_first10`, `<name>_last10`.
    """
    out: dict[str, float] = {}
    names = {"reward": "reward"}
    for row in rows:
        for key in row:
            if key.startswith("rewards/") and key.endswith("/mean"):
                names[key] = key[len("rewards/"):-len("/mean")]
    for key, name in sorted(names.items()):
        values = [row[key] for row in rows if key in row]
        if not values:
            continue
        out[name] = sum(values) / len(values)
        out[f"{name}_first{tail}"] = sum(values[:tail]) / len(values[:tail])
        out[f"{name}_last{tail}"] = sum(values[-tail:]) / len(values[-tail:])
    return out


__all__ = [
    "CHECKPOINT_PREFIX",
    "FINGERPRINT_FILE",
    "checkpoint_dir",
    "describe_reward",
    "prepare_checkpoints",
    "reward_summary",
    "run_fingerprint",
    "run_grpo",
    "shared_resume",
]
