"""Seconds per Stage-1 GRPO step: our stage code vs a bare trl `GRPOTrainer` script.

Arms, run side by side in one process on the same tiny model, data and settings:

* ``bare``: a plain trl script — `GRPOTrainer` on the model directory loaded with
  `from_pretrained`, a `prompt`-only dataset and a trivial length reward; no
  checkpoints, no callbacks of ours.
* ``stage``: what the `stage1_grpo` stage runs — `tracer1.training.stage1.run_stage1`
  (the trajectory and format rewards on the window columns, fingerprinted checkpoints
  every `save_steps`, our logging callback) with the `log` hook the stage passes:
  `StageRun.step_logger()`, one MLflow `log_metrics` per step into a scratch SQLite store.
* ``stage-no-mlflow`` (optional): the same without MLflow (the hook only takes the time).

Model, tokenizer and data are made as the stages make them: the windows of up to
``--episodes`` training episodes (spread over `data/trajectories/train.jsonl`, or
tool-use expert episodes when that file is absent), a byte-level BPE trained on them
(`train_tokenizer`) and a fresh tiny Llama (`build_tiny`) saved as an SFT model
directory. Batch size, group size, token budgets, learning rate, temperature,
`save_steps` and seed come from `params.yaml`'s `stage1_grpo` and `policy` (the
`--batch-size`, `--generations`, `--max-new-tokens` overrides apply to every arm);
both arms log every step (the stage does; it costs trl under a millisecond).

A step's time is the interval between consecutive `on_log` events (the step's
generation, rewards, loss, update, logging and, on a `save_steps` step, the
checkpoint). The first ``--warmup`` steps are dropped. Per arm: the median step of
each run, then the median over ``--repeats`` runs (arms interleaved, order rotated per
repeat); the overhead ratio is the median of the per-repeat ratios. Where any
difference goes is measured directly: trl's own profiling timers (generation, each
reward function, loss), the time inside our `log` hook, and `Trainer._save_checkpoint`.

    python -m bench.grpo_overhead --steps 10 --repeats 3
    python -m bench.grpo_overhead --steps 4 --repeats 1 --max-new-tokens 48   # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.results import Row, median, paired_ratio, ratio
from tracer1.config import Params, load_params
from tracer1.layout import Layout

ARMS = ("bare", "stage", "stage-no-mlflow")
DEFAULT_ARMS = ("bare", "stage")
TRAIN_FILE = Path("data/trajectories/train.jsonl")
BARE_TARGET_CHARS = 200  # the length reward's target; any constant does


def length_reward(completions: list[str], **_: Any) -> list[float]:
    """The bare arm's trivial reward: closeness of the completion's length to a target."""
    return [-abs(len(c) - BARE_TARGET_CHARS) / BARE_TARGET_CHARS for c in completions]


# ----------------------------------------------------------------------- setup


def write_train_subset(dest: Path, episodes: int, source: Path = TRAIN_FILE) -> str:
    """`dest/train.jsonl`: `episodes` lines spread over `source`, or expert episodes."""
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        picked = [lines[i * len(lines) // episodes] for i in range(min(episodes, len(lines)))]
        (dest / "train.jsonl").write_text("\n".join(picked) + "\n", encoding="utf-8")
        return f"{len(picked)} episodes spread over {source}"
    from tracer1.data.build import expert_episode
    from tracer1.data.jsonl import write_episodes
    from tracer1.envs.base import get_suite

    suite = get_suite("tooluse")
    families = list(suite.families())
    made = []
    for i in range(episodes):
        family = families[i % len(families)]
        task = suite.make_task(family, i, 1 + i % 3)
        made.append(expert_episode(suite, task, "train", max_steps=30))
    write_episodes(dest / "train.jsonl", made)
    return f"{len(made)} tool-use expert episodes ({source} absent)"


def make_model_dir(params: Params, variant: str, data_dir: Path, out: Path) -> int:
    """A fresh tiny planner saved as the variant's SFT model directory; its parameter count."""
    from tracer1.policy.model import ModelMeta, build_tiny, save_model_dir
    from tracer1.policy.tokenizer import train_tokenizer
    from tracer1.training.data import window_dataset

    horizon, history = params.forecast.horizon(variant), params.forecast.history
    windows = window_dataset(data_dir, "train", horizon=horizon, history=history)
    texts = [*windows["prompt"], *windows["completion"]]  # what `run_sft` trains it on
    tokenizer = train_tokenizer(texts, params.policy.vocab_size)
    model = build_tiny(params.policy, tokenizer)
    meta = ModelMeta(horizon=horizon, history=history,
                     max_prompt_tokens=params.policy.max_prompt_tokens,
                     max_new_tokens=params.policy.max_new_tokens, variant=variant, stage="sft")
    save_model_dir(out, model, tokenizer, meta)
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------- timing


class StepClock:
    """Timestamps of `on_log` events, and trl's profiling timers, per step."""

    def __init__(self) -> None:
        self.stamps: list[tuple[int, float]] = []
        self.profile: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.hook_seconds: list[float] = []
        self.save_seconds: dict[int, float] = {}

    def tick(self, step: int) -> None:
        if not self.stamps or step > self.stamps[-1][0]:  # trl's end-of-run summary repeats one
            self.stamps.append((step, time.perf_counter()))

    def step_seconds(self, warmup: int) -> list[float]:
        """Interval ending at each step after the first `warmup` (which are dropped)."""
        return [t1 - t0 for (_, t0), (s1, t1) in zip(self.stamps, self.stamps[1:], strict=False)
                if s1 > warmup]

    def save_per_step(self, warmup: int) -> float:
        """Checkpoint seconds inside the timed steps, spread over them (the amortized cost)."""
        # A save after step k's log falls in the interval k -> k+1.
        last = self.stamps[-1][0] if self.stamps else 0
        saved = sum(s for step, s in self.save_seconds.items() if warmup <= step < last)
        return saved / max(1, len(self.step_seconds(warmup)))

    def profile_means(self, warmup: int) -> dict[str, float]:
        """Mean seconds per step of each trl profiling timer over the timed steps."""
        out = {}
        for name, per_step in self.profile.items():
            # trl stamps a block with the global step *before* the step increments it.
            values = [v for step, v in per_step.items() if step >= warmup]
            if values:
                out[name.removeprefix("GRPOTrainer.")] = statistics.mean(values)
        return out


@contextmanager
def capture_timers(clock: StepClock) -> Iterator[None]:
    """Route trl's `profiling_context` timings (generation, rewards, loss) and the time of
    every `Trainer._save_checkpoint` into `clock`, for one run."""
    from transformers import Trainer
    from trl.extras.profiling import ProfilingContext

    original_log, original_save = ProfilingContext._log_metrics, Trainer._save_checkpoint

    def record(self: Any, duration: float) -> None:
        clock.profile[self.name][self.step or 0] += duration

    def timed_save(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_save(self, *args, **kwargs)
        finally:
            clock.save_seconds[int(self.state.global_step)] = time.perf_counter() - started

    ProfilingContext._log_metrics, Trainer._save_checkpoint = record, timed_save
    try:
        yield
    finally:
        ProfilingContext._log_metrics, Trainer._save_checkpoint = original_log, original_save


def clock_callback(clock: StepClock) -> Any:
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            clock.tick(int(state.global_step))

    return Clock()


# ----------------------------------------------------------------------- arms


def run_bare(params: Params, variant: str, model_dir: Path, data_dir: Path, scratch: Path,
             steps: int, clock: StepClock) -> dict[str, Any]:
    """The reference: what a plain trl GRPO script on the same model and data does."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from tracer1.training.data import clip_prompts, window_dataset

    cfg, policy = params.stage1_grpo, params.policy
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    # Same prompts, clipped to the same budget as run_grpo clips them (untimed setup).
    windows = window_dataset(data_dir, "train", horizon=params.forecast.horizon(variant),
                             history=params.forecast.history)
    dataset = clip_prompts(windows, tokenizer, policy.max_prompt_tokens).select_columns(["prompt"])
    args = GRPOConfig(
        output_dir=str(scratch / "bare"),
        max_steps=steps,
        per_device_train_batch_size=cfg.batch_size,
        num_generations=cfg.num_generations,
        max_completion_length=policy.max_new_tokens,
        learning_rate=cfg.learning_rate,
        beta=cfg.beta,
        temperature=cfg.temperature,
        seed=cfg.seed,
        data_seed=cfg.seed,
        save_strategy="no",
        logging_steps=1,
        report_to="none",
        bf16=False,
        activation_checkpointing=False,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=[length_reward], args=args,
                          train_dataset=dataset, processing_class=tokenizer,
                          callbacks=[clock_callback(clock)])
    trainer.remove_callback(PrinterCallback)  # its stdout lines would bury the report
    trainer.train()
    return {"prompts": len(dataset), "log_history": trainer.state.log_history}


def run_stage(params: Params, variant: str, data_dir: Path, steps: int, clock: StepClock,
              *, layout: Layout, mlflow_dir: Path | None = None) -> dict[str, Any]:
    """Our Stage-1 code path; with `mlflow_dir`, logging each step into an MLflow run there
    as `tracer1.stages.stage1_grpo` does (params and lineage tags are logged before
    training starts, outside the timed steps)."""
    from tracer1.training.stage1 import run_stage1

    params = dataclasses.replace(
        params, stage1_grpo=dataclasses.replace(params.stage1_grpo, max_steps=steps))
    if mlflow_dir is None:
        return run_stage1(params, variant, data_dir=data_dir, layout=layout,
                          log=lambda step, _: clock.tick(step))

    from tracer1.tracking import stage_run

    tracking = dataclasses.replace(
        params.tracking, tracking_uri=f"sqlite:///{mlflow_dir / 'mlflow.db'}",
        artifact_location=str(mlflow_dir / "artifacts"))
    with stage_run("stage1_grpo", params.stage1_grpo, variant=variant, cfg=tracking) as run:
        mlflow_log = run.step_logger()

        def log(step: int, metrics: dict[str, float]) -> None:
            started = time.perf_counter()
            mlflow_log(step, metrics)
            clock.hook_seconds.append(time.perf_counter() - started)
            clock.tick(step)

        return run_stage1(params, variant, data_dir=data_dir, layout=layout, log=log)


def mean_completion_length(log_history: list[dict[str, Any]], warmup: int) -> float | None:
    values = [r["completions/mean_length"] for r in log_history
              if "completions/mean_length" in r and r.get("step", 0) > warmup]
    return statistics.mean(values) if values else None


# ----------------------------------------------------------------------- main


def measure(params: Params, variant: str, *, steps: int, warmup: int, repeats: int,
            episodes: int, arms: tuple[str, ...], workdir: Path) -> dict[str, Any]:
    """Run every arm `repeats` times (order rotated per repeat); raw per-run results."""
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    hf_logging.disable_progress_bar()  # "Loading weights" bars on every model load
    data_dir = workdir / "traj"
    source = write_train_subset(data_dir, episodes)
    layout = Layout(workdir, variant)
    model_dir = layout.sft_model
    n_params = make_model_dir(params, variant, data_dir, model_dir)
    total = warmup + steps
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    for repeat in range(repeats):
        order = arms[repeat % len(arms):] + arms[:repeat % len(arms)]
        for arm in order:
            clock = StepClock()
            with capture_timers(clock):
                if arm == "bare":
                    out = run_bare(params, variant, model_dir, data_dir, workdir, total, clock)
                    history = out["log_history"]
                else:
                    mlflow_dir = workdir / "mlflow" if arm == "stage" else None
                    out = run_stage(params, variant, data_dir, total, clock, layout=layout,
                                    mlflow_dir=mlflow_dir)
                    history = out["curve"]
            times = clock.step_seconds(warmup)
            runs[arm].append({
                "step_seconds": times,
                "median_s": median(times),
                "mean_s": statistics.mean(times),
                "profile_s": clock.profile_means(warmup),
                "log_hook_s": statistics.mean(clock.hook_seconds) if clock.hook_seconds else 0.0,
                "checkpoint_s_per_step": clock.save_per_step(warmup),
                "checkpoints": dict(clock.save_seconds),
                "mean_completion_tokens": mean_completion_length(history, warmup),
            })
            print(f"  repeat {repeat}: {arm:<13} median {runs[arm][-1]['median_s']:.3f} s/step, "
                  f"mean {runs[arm][-1]['mean_s']:.3f}", flush=True)
            gc.collect()
    cfg = params.stage1_grpo
    return {
        "variant": variant,
        "data": source,
        "parameters": n_params,
        "batch_size": cfg.batch_size,
        "num_generations": cfg.num_generations,
        "max_new_tokens": params.policy.max_new_tokens,
        "max_prompt_tokens": params.policy.max_prompt_tokens,
        "save_steps": cfg.save_steps,
        "warmup_steps": warmup,
        "timed_steps": steps,
        "repeats": repeats,
        "runs": runs,
    }


def summarize(raw: dict[str, Any]) -> tuple[dict[str, Any], list[Row]]:
    """Per-arm medians, the overhead ratios and where the extra time goes; table rows."""
    runs = raw["runs"]
    arms = {arm: {
        "median_s": median(r["median_s"] for r in rs),
        "mean_s": median(r["mean_s"] for r in rs),
        "per_repeat_median_s": [r["median_s"] for r in rs],
        "profile_s": _median_dicts([r["profile_s"] for r in rs]),
        "log_hook_s": median(r["log_hook_s"] for r in rs),
        "checkpoint_s_per_step": median(r["checkpoint_s_per_step"] for r in rs),
        "mean_completion_tokens": _median_or_none(r["mean_completion_tokens"] for r in rs),
    } for arm, rs in runs.items()}
    summary: dict[str, Any] = {"arms": arms, "overhead": {}}
    setting = (f"B={raw['batch_size']} completions, G={raw['num_generations']}, "
               f"{raw['max_new_tokens']} new tokens, {raw['parameters']:,}-param tiny Llama")
    how = (f"median s/step of {raw['timed_steps']} steps after {raw['warmup_steps']} warm-up, "
           f"median of {raw['repeats']} interleaved runs; ratio = median of per-repeat ratios")
    rows = []
    if "bare" not in arms:
        for arm, row in arms.items():
            rows.append(Row("grpo_overhead", f"{arm} ({setting})", row["median_s"], "s/step",
                            None, how))
        return summary, rows
    bare = arms["bare"]
    rows.append(Row("grpo_overhead", f"bare trl GRPOTrainer, length reward ({setting})",
                    bare["median_s"], "s/step", None, how))
    for arm in (a for a in arms if a != "bare"):
        ours = arms[arm]
        paired = paired_ratio(ours["per_repeat_median_s"], bare["per_repeat_median_s"])
        where = where_time_goes(ours, bare)
        summary["overhead"][arm] = {
            "paired_ratio": paired,
            "ratio_of_medians": ratio(ours["median_s"], bare["median_s"]),
            "ratio_of_means": ratio(ours["mean_s"], bare["mean_s"]),
            "extra_s_per_step": ours["median_s"] - bare["median_s"],
            "where_s_per_step": where,
        }
        label = ("stage1_grpo as the stage runs it (run_stage1: trajectory + format rewards, "
                 f"checkpoints every {raw['save_steps']}, MLflow step logging) vs bare"
                 if arm == "stage" else "run_stage1 without MLflow vs bare")
        rows.append(Row("grpo_overhead", label, ours["median_s"], "s/step", paired, how,
                        note=overhead_note(summary["overhead"][arm], ours, bare),
                        extra=summary["overhead"][arm]))
    return summary, rows


def where_time_goes(arm: dict[str, Any], bare: dict[str, Any]) -> dict[str, float]:
    """Seconds per step, ours minus bare: trl's generation, reward and loss timers, our log
    hook and checkpoints (measured directly), and what none of them explains."""
    def timer(row: dict[str, Any], name: str) -> float:
        return row["profile_s"].get(name, 0.0)

    parts = {
        "generation": timer(arm, "transformers.generate") - timer(bare, "transformers.generate"),
        "rewards": timer(arm, "_calculate_rewards") - timer(bare, "_calculate_rewards"),
        "loss": timer(arm, "compute_loss") - timer(bare, "compute_loss"),
        "log hook": arm["log_hook_s"] - bare["log_hook_s"],
        "checkpoints": arm["checkpoint_s_per_step"] - bare["checkpoint_s_per_step"],
    }
    parts["other"] = (arm["mean_s"] - bare["mean_s"]) - sum(parts.values())
    return parts


def overhead_note(overhead: dict[str, Any], ours: dict[str, Any], bare: dict[str, Any]) -> str:
    """One line: the target, the mean-based ratio (checkpoint steps included), and the
    per-step difference by part, in milliseconds."""
    of_means = overhead["ratio_of_means"]
    parts = ", ".join(f"{k} {v * 1000:+.0f}" for k, v in overhead["where_s_per_step"].items())
    tokens = ""
    if ours["mean_completion_tokens"] and bare["mean_completion_tokens"]:
        tokens = (f"; completion tokens {ours['mean_completion_tokens']:.0f} vs "
                  f"{bare['mean_completion_tokens']:.0f}")
    return (f"target ≤ 1.05; ratio of means {of_means:.2f}" if of_means else "target ≤ 1.05") + (
        f"; ms/step vs bare: {parts}{tokens}")


def _median_dicts(dicts: list[dict[str, float]]) -> dict[str, float]:
    keys = set().union(*dicts) if dicts else set()
    return {k: median(d[k] for d in dicts if k in d) for k in sorted(keys)}


def _median_or_none(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def with_overrides(params: Params, *, batch_size: int | None = None,
                   generations: int | None = None, max_new_tokens: int | None = None) -> Params:
    """`params` with the benchmark's batch, group and completion budget (None: keep)."""
    grpo = params.stage1_grpo
    grpo = dataclasses.replace(
        grpo, batch_size=batch_size or grpo.batch_size,
        num_generations=generations or grpo.num_generations)
    policy = dataclasses.replace(
        params.policy, max_new_tokens=max_new_tokens or params.policy.max_new_tokens)
    return dataclasses.replace(params, stage1_grpo=grpo, policy=policy)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--variant", default=None, help="default: forecast.candidate")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=3, help="runs per arm")
    parser.add_argument("--episodes", type=int, default=100, help="training episodes used")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(DEFAULT_ARMS))
    parser.add_argument("--batch-size", type=int, default=None,
                        help="completions per step (default: stage1_grpo.batch_size)")
    parser.add_argument("--generations", type=int, default=None,
                        help="group size G (default: stage1_grpo.num_generations)")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="completion budget (default: policy.max_new_tokens)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/grpo_overhead.json"))
    args = parser.parse_args(argv)
    if args.steps < 2 or args.repeats < 1 or args.warmup < 1:
        parser.error("need --steps >= 2, --warmup >= 1, --repeats >= 1")

    params = with_overrides(load_params(args.params), batch_size=args.batch_size,
                            generations=args.generations, max_new_tokens=args.max_new_tokens)
    variant = args.variant or params.forecast.candidate
    with tempfile.TemporaryDirectory(prefix="tracer1-bench-grpo-") as tmp:
        raw = measure(params, variant, steps=args.steps, warmup=args.warmup,
                      repeats=args.repeats, episodes=args.episodes, arms=tuple(args.arms),
                      workdir=Path(tmp))
    summary, rows = summarize(raw)
    report = {"benchmark": "grpo_overhead", **raw, "summary": summary,
              "rows": [r.to_json() for r in rows]}
    for arm, row in summary["arms"].items():
        print(f"{arm:<13} median {row['median_s']:.3f} s/step, mean {row['mean_s']:.3f}")
    for row in rows[1:]:
        print(f"{row.what}: {row.ratio:.3f}× ({row.note})")
    from tracer1.io import write_json

    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()

