"""`sft`: the supervised warm start — forecast windows, completion-only loss, one model dir.

A random-init policy never emits a parseable plan, so GRPO would see reward 0
everywhere; SFT on the expert's windows teaches the plan format (and a first
guess at the content) before RL. For the tiny default the tokenizer is trained
here, on the same training windows.

One trainer for both policy kinds: a text policy trains on pre-tokenized rows
(`tokenize_sft`); a VLM (`policy.kind: vlm`) on conversational rows with the step's
screenshot (`as_messages`), which trl's vision collator encodes batch by batch with
the processor — completion-only loss either way.

>>> metrics = run_sft(load_params(), "anticipatory")  # doctest: +SKIP
>>> metrics["final_loss"], metrics["probe"]["format_valid"]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from typing import Any

from tracer1.config import Params
from tracer1.layout import Layout
from tracer1.training.curve import (
    LogFn,
    curve_rows,
    quiet,
    train_runtime,
    trainer_callbacks,
    write_curve,
)

logger = logging.getLogger(__name__)

PROBE_WINDOWS = 24  # val windows decoded greedily after training (~40 s on the default model)


def run_sft(
    params: Params,
    variant: str,
    *,
    log: LogFn | None = None,
    data_dir: str | os.PathLike | None = None,
    curve_path: str | os.PathLike | None = None,
    probe_windows: int = PROBE_WINDOWS,
    layout: Layout | None = None,
) -> dict[str, Any]:
    """Train the `variant` planner's warm start; write its `layout.sft_model`.

    `layout` defaults to the working directory's; `data_dir` to its trajectories.
    `log(step, metrics)` gets each logged step; `curve_path` (optional) receives the
    per-step CSV. Returns the final loss, steps, seconds, token accuracy, the `curve` rows
    and a greedy `probe` on `probe_windows` val windows (format-valid rate, mean trajectory reward).
    """
    import torch
    from trl import SFTConfig, SFTTrainer

    from tracer1 import distributed
    from tracer1.policy.agent import Agent
    from tracer1.policy.model import ModelMeta, model_kind, new_policy
    from tracer1.training.data import balanced_rows, window_dataset, window_records
    from tracer1.training.launch import save_trained, sharded
    from tracer1.training.probe import probe

    start = time.monotonic()
    cfg, policy = params.sft, params.policy
    horizon, history = params.forecast.horizon(variant), params.forecast.history
    layout = layout or Layout(variant=variant)
    data_dir = data_dir if data_dir is not None else layout.trajectories
    vision = model_kind(policy.kind).vision
    train = window_dataset(data_dir, "train", horizon=horizon, history=history, images=vision)
    if len(train) == 0:
        raise ValueError(f"{data_dir}: no training windows")
    if cfg.balance_families and cfg.max_steps > 0:
        train = balanced_rows(train, cfg.max_steps * cfg.batch_size, cfg.seed,
                              cfg.suite_weights)
    model, tokenizer = new_policy(policy, _texts(train))
    train_rows, length_args = _sft_rows(train, tokenizer, policy, vision)
    logger.info("sft %s: %d windows, horizon %d, %s parameters", variant, len(train), horizon,
                f"{sum(p.numel() for p in model.parameters()):,}")

    with tempfile.TemporaryDirectory(prefix="tracer1-sft-") as scratch:
        args = SFTConfig(
            output_dir=scratch,
            max_steps=cfg.max_steps,
            per_device_train_batch_size=distributed.per_device_batch(cfg.batch_size,
                                                                     "sft.batch_size"),
            learning_rate=cfg.learning_rate,
            warmup_steps=cfg.warmup_steps,
            lr_scheduler_type="cosine",
            seed=cfg.seed,
            data_seed=cfg.seed,
            completion_only_loss=True,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            # A bf16 base trains under bf16 autocast (AMX: ~8x fp32 matmuls on CPU); the
            # LoRA weights stay fp32.
            bf16=bool(policy.base_model) and policy.dtype == "bfloat16",
            use_cpu=not torch.cuda.is_available(),  # HF refuses bf16 on a CPU unless told
            fp16=False,
            activation_checkpointing=False,  # tiny models: recomputation only costs time
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
            disable_tqdm=True,
            **length_args,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=train_rows,
            processing_class=tokenizer,
            callbacks=trainer_callbacks(f"sft {variant}", log),
        )
        quiet(trainer)
        # HF reads max_steps <= 0 as "train by epochs"; here 0 means no training at all
        # (an untrained baseline / a deliberately weak candidate).
        result = trainer.train() if cfg.max_steps > 0 else None
        rows = curve_rows(trainer.state.log_history)
        model = trainer.model

    meta = ModelMeta(
        horizon=horizon,
        history=history,
        max_prompt_tokens=policy.max_prompt_tokens,
        max_new_tokens=policy.max_new_tokens,
        variant=variant,
        stage="sft",
        base_model=policy.base_model,
        lora=bool(policy.base_model),
        dtype=policy.dtype if policy.base_model else "float32",
        kind=policy.kind,
    )
    out_dir = layout.sft_model
    save_trained(trainer, out_dir, tokenizer, meta)  # rank 0 writes; the others wait
    if curve_path is not None and distributed.is_main():
        write_curve(curve_path, rows)
    train_seconds = time.monotonic() - start

    metrics: dict[str, Any] = {
        "variant": variant,
        "out_dir": str(out_dir),
        "windows": len(train),
        "steps": int(trainer.state.global_step),
        "final_loss": _last(rows, "loss"),
        "mean_token_accuracy": _last(rows, "mean_token_accuracy"),
        "seconds": round(train_seconds, 2),
        "train_seconds": train_runtime(result),
        "curve": rows,
    }
    # The probe decodes on rank 0 alone (a sharded model cannot: every rank holds a part).
    if probe_windows > 0 and distributed.is_main() and not sharded(trainer):
        val = window_records(data_dir, "val", horizon=horizon, history=history, images=vision)
        rows_probe = _spread(val, probe_windows)
        s1 = params.stage1_grpo
        agent = Agent(model, tokenizer, meta)
        t0 = time.monotonic()
        metrics["probe"] = probe(agent, rows_probe, gamma=s1.gamma, lambda_align=s1.lambda_align,
                                 lambda_rep=s1.lambda_rep, progress=f"sft {variant} probe")
        metrics["probe"]["seconds"] = round(time.monotonic() - t0, 2)
    logger.info("sft %s: %s", variant, {k: v for k, v in metrics.items() if k != "curve"})
    return metrics


def _sft_rows(train: Any, tokenizer: Any, policy: Any, vision: bool
              ) -> tuple[Any, dict[str, Any]]:
    """The rows SFT trains on and the `SFTConfig` settings that go with their form."""
    from tracer1.policy.model import text_tokenizer
    from tracer1.training.data import as_messages, clip_prompts, tokenize_sft

    if vision:
        # Encoded per batch by trl's vision collator; the text is clipped to the same budget
        # (image tokens come on top, so no `max_length` cut can land inside the image).
        clipped = clip_prompts(train, text_tokenizer(tokenizer), policy.max_prompt_tokens,
                               chat=False)
        return as_messages(clipped), {"max_length": None}
    tokenized = tokenize_sft(train, tokenizer, policy.max_prompt_tokens)
    return tokenized, {
        "max_length": policy.max_prompt_tokens + policy.max_new_tokens,
        # Batches of similar length: prompts run 300-1,300 tokens, and padding every row
        # to the longest one wasted about a third of each step on CPU.
        "train_sampling_strategy": "group_by_length",
        "length_column_name": "length",
    }


def _texts(dataset: Any):
    """Tokenizer training text: every prompt and every reference plan."""
    yield from dataset["prompt"]
    yield from dataset["completion"]


def _spread(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` rows evenly spread over `rows` (windows of one episode are adjacent)."""
    if len(rows) <= n:
        return rows
    return [rows[i * len(rows) // n] for i in range(n)]


def _last(rows: list[dict[str, float]], key: str) -> float | None:
    for row in reversed(rows):
        if key in row:
            return row[key]
    return None


__all__ = ["PROBE_WINDOWS", "run_sft"]
