"""A real Stage-1 GRPO run with a ≥0.5B planner on one GPU: throughput and memory.

    python bench/gpu_grpo.py --out bench/out/gpu_grpo.json            # the 0.54B default
    python bench/gpu_grpo.py --hidden 64 --layers 2 --heads 4 --ffn 256 --steps 3   # smoke

It runs the pipeline's own code path for a real base model, nothing re-implemented:
tool-use expert trajectories (`build_dataset`, no browser) → a base model directory →
`sft` with `policy.base_model` pointing at it (LoRA, bfloat16) → `stage1_grpo` (trl
`GRPOTrainer` with the trajectory and format rewards). Nothing comes from a hub, so the
base is a Llama built from a config with the BPE tokenizer trained on the windows and
random weights: the numbers are throughput and memory, not learning. Per GRPO step it
records wall time, the tokens trl counted (prompts + completions) and the mean
completion length; the first `--warmup` steps are left out of the medians.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANT = "anticipatory"


def overrides(work: Path, args: argparse.Namespace, base: Path | None) -> dict:
    """Params on top of the repository's params.yaml: a tool-use-only dataset in `work`,
    the base model (or the tiny sizes used to build it) and the step budget."""
    sizes = {"policy.hidden_size": args.hidden, "policy.num_layers": args.layers,
             "policy.num_heads": args.heads, "policy.intermediate_size": args.ffn}
    return {
        "build_dataset.out_dir": str(work / "trajectories"),
        "build_dataset.metrics_path": str(work / "build_dataset.json"),
        "build_dataset.suites": {"tooluse": {"families": [], "difficulties": [1, 2, 3]}},
        "build_dataset.seeds": {"train": {"start": 0, "stop": args.train_seeds},
                                "val": {"start": 1000, "stop": 1010},
                                "test": {"start": 2000, "stop": 2010}},
        "sft.out_dir": str(work / "sft"),
        "sft.max_steps": args.sft_steps,
        "sft.batch_size": args.batch // args.generations,
        "stage1_grpo.out_dir": str(work / "stage1"),
        "stage1_grpo.max_steps": args.steps,
        "stage1_grpo.batch_size": args.batch,
        "stage1_grpo.num_generations": args.generations,
        "stage1_grpo.save_steps": args.steps + 1,
        "policy.base_model": str(base) if base else None,
        "policy.dtype": "bfloat16" if base else "float32",
        **({} if base else sizes),
    }


def build_base(params, out: Path) -> int:
    """Save a random-init Llama of `params.policy`'s sizes + the trained tokenizer at `out`
    as a plain Hugging Face model directory (what `policy.base_model` loads)."""
    from tracer1.policy.model import new_policy
    from tracer1.training.data import window_dataset

    train = window_dataset(params.build_dataset.out_dir, "train",
                           horizon=params.forecast.horizon(VARIANT),
                           history=params.forecast.history)
    model, tokenizer = new_policy(params.policy, (r["prompt"] + r["completion"] for r in train))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/gpu_grpo.json")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--ffn", type=int, default=4096)
    parser.add_argument("--train-seeds", type=int, default=40)
    parser.add_argument("--sft-steps", type=int, default=20)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32, help="completions per GRPO step")
    parser.add_argument("--generations", type=int, default=8, help="group size G")
    args = parser.parse_args(argv)

    import torch

    from tracer1.config import load_params
    from tracer1.data.build import build_dataset
    from tracer1.training.sft import run_sft
    from tracer1.training.stage1 import run_stage1

    cuda = torch.cuda.is_available()
    with tempfile.TemporaryDirectory(prefix="tracer1-gpu-grpo-") as tmp:
        work = Path(tmp)
        params = load_params(REPO / "params.yaml", overrides(work, args, None))
        build_dataset(params.build_dataset)
        parameters = build_base(params, work / "base")
        params = load_params(REPO / "params.yaml", overrides(work, args, work / "base"))

        sft = run_sft(params, VARIANT, probe_windows=0)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        stamps: list[tuple[int, float, dict]] = []
        start = time.perf_counter()
        stage1 = run_stage1(params, VARIANT,
                            log=lambda step, m: stamps.append((step, time.perf_counter(), m)))
        total = time.perf_counter() - start

    steps = []
    previous_time, previous_tokens = start, 0.0
    for step, at, metrics in stamps:
        tokens = float(metrics.get("num_tokens", 0.0))
        steps.append({"step": step, "seconds": at - previous_time,
                      "tokens": tokens - previous_tokens,
                      "completion_mean_length": metrics.get("completions/mean_length")})
        previous_time, previous_tokens = at, tokens
    timed = steps[args.warmup:]
    seconds = [s["seconds"] for s in timed]
    result = {
        "what": "Stage-1 GRPO (trl GRPOTrainer via tracer1.training.stage1), LoRA on a "
                "random-init Llama base in bfloat16",
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "torch": torch.__version__,
        "parameters": parameters,
        "config": {k: getattr(args, k) for k in ("hidden", "layers", "heads", "ffn", "batch",
                                                  "generations", "steps", "warmup")},
        "max_new_tokens": params.policy.max_new_tokens,
        "sft_seconds": sft.get("seconds"),
        "stage1_seconds": round(total, 2),
        "median_step_seconds": median(seconds),
        "median_tokens_per_second": median([s["tokens"] / s["seconds"] for s in timed]),
        "median_completion_tokens_per_second": median(
            [s["completion_mean_length"] * args.batch / s["seconds"] for s in timed
             if s["completion_mean_length"] is not None]),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda
        else None,
        "peak_gpu_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2) if cuda
        else None,
        "reward_mean": stage1.get("reward"),
        "steps": steps,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    tmp_out.replace(args.out)
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
