"""Stage-1 GRPO with a ≥0.5B planner on a GPU machine: 1 GPU vs all, vLLM vs generate.

    python bench/gpu_grpo.py --out bench/out/gpu_grpo.json            # the 0.54B default
    python bench/gpu_grpo.py --gpus 2 --engines transformers --steps 3   # a shorter run

It runs the pipeline's own code path for a real base model, nothing re-implemented:
tool-use expert trajectories (`build_dataset`, no browser) → a base model directory →
`sft` with `policy.base_model` pointing at it (LoRA, bfloat16) → `tracer1 launch --
stage1-grpo` (trl `GRPOTrainer`), once per setting: one GPU with each rollout engine
(``transformers`` generate, trl's vLLM colocated), and all `--gpus` with transformers.
Nothing comes from a hub, so the base is a Llama built from a config with the BPE
tokenizer trained on the windows and random weights: the numbers are throughput, not
learning. Per run: trl's token count (prompts + completions) over the training seconds;
the ratios are the scaling efficiency (tokens/s on N GPUs / (N × on 1)) and the vLLM
speed-up (tokens/s with vLLM / with generate, on one GPU). The global batch is the same
in every run (`--batch` completions a step, split over the GPUs).

It needs a CUDA GPU (and for vLLM the ``vllm`` extra) and stops with a message without.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANT = "anticipatory"
ENGINES = ("transformers", "vllm")


def overrides(work: Path, args: argparse.Namespace, base: Path | None) -> dict:
    """Params on top of the repository's params.yaml: a tool-use-only dataset, the base
    model (or the tiny sizes used to build it) and the step budget. The outputs go to
    `work`'s layout."""
    sizes = {"policy.hidden_size": args.hidden, "policy.num_layers": args.layers,
             "policy.num_heads": args.heads, "policy.intermediate_size": args.ffn}
    return {
        "suites": {"tooluse": {"families": [], "difficulties": [1, 2, 3]}},
        "build_dataset.seeds": {"train": {"start": 0, "stop": args.train_seeds},
                                "val": {"start": 1000, "stop": 1010},
                                "test": {"start": 2000, "stop": 2010}},
        "sft.max_steps": args.sft_steps,
        "sft.batch_size": args.batch // args.generations,
        "stage1_grpo.max_steps": args.steps,
        "stage1_grpo.batch_size": args.batch,
        "stage1_grpo.num_generations": args.generations,
        "stage1_grpo.save_steps": args.steps + 1,
        "policy.base_model": str(base) if base else None,
        "policy.dtype": "bfloat16" if base else "float32",
        **({} if base else sizes),
    }


def build_base(params, data: Path, out: Path) -> int:
    """Save a random-init Llama of `params.policy`'s sizes + the trained tokenizer at `out`
    as a plain Hugging Face model directory (what `policy.base_model` loads)."""
    from tracer1.policy.model import new_policy
    from tracer1.training.data import window_dataset

    train = window_dataset(data, "train",
                           horizon=params.forecast.horizon(VARIANT),
                           history=params.forecast.history)
    model, tokenizer = new_policy(params.policy, (r["prompt"] + r["completion"] for r in train))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def gpu_count(text: str) -> int | str:
    """`--gpus`: ``all`` or a count >= 1."""
    if text == "all":
        return text
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--gpus: 'all' or a number, got {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"--gpus: at least 1, got {count}")
    return count


def engine_list(text: str) -> tuple[str, ...]:
    """`--engines`: a comma-separated subset of `ENGINES`."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ENGINES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"--engines: choose from {', '.join(ENGINES)}, "
                                         f"got {text!r}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/gpu_grpo.json")
    parser.add_argument("--gpus", type=gpu_count, default="all",
                        help="GPUs of the multi-GPU run ('all': every visible one)")
    parser.add_argument("--engines", type=engine_list, default=ENGINES,
                        help="rollout engines compared on one GPU (comma-separated)")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--ffn", type=int, default=4096)
    parser.add_argument("--train-seeds", type=int, default=40)
    parser.add_argument("--sft-steps", type=int, default=20)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32, help="completions per GRPO step")
    parser.add_argument("--generations", type=int, default=8, help="group size G")
    args = parser.parse_args(argv)
    if args.batch % args.generations:
        parser.error(f"--batch {args.batch} must be a multiple of --generations "
                     f"{args.generations}")
    return args


def plan_runs(gpus: int, engines: tuple[str, ...]) -> list[tuple[int, str]]:
    """(processes, engine) of each run: one GPU per engine, then all GPUs with generate.

    >>> plan_runs(8, ("transformers", "vllm"))
    [(1, 'transformers'), (1, 'vllm'), (8, 'transformers')]
    """
    runs = [(1, engine) for engine in engines]
    if gpus > 1:
        runs.append((gpus, "transformers"))
    return runs


def ratios(results: dict[str, float]) -> dict[str, float]:
    """Scaling efficiency and the vLLM speed-up from tokens/s keyed ``<gpus>x<engine>``.

    >>> ratios({"1xtransformers": 100.0, "4xtransformers": 300.0, "1xvllm": 250.0})
    {'scaling_efficiency_4gpus': 0.75, 'vllm_speedup': 2.5}
    """
    out: dict[str, float] = {}
    one = results.get("1xtransformers")
    for key, value in results.items():
        gpus, engine = key.split("x", 1)
        if one and engine == "transformers" and int(gpus) > 1:
            out[f"scaling_efficiency_{gpus}gpus"] = round(value / (int(gpus) * one), 4)
    if one and "1xvllm" in results:
        out["vllm_speedup"] = round(results["1xvllm"] / one, 4)
    return out


def tokens_per_second(work: Path) -> dict[str, float]:
    """trl's token count at the last step over the training seconds of the run in `work`."""
    record = json.loads((work / "reports/stage1_grpo" / f"{VARIANT}.json").read_text())
    with (work / "reports/stage1_grpo" / f"{VARIANT}_curve.csv").open() as fh:
        tokens = [float(r["num_tokens"]) for r in csv.DictReader(fh) if r.get("num_tokens")]
    seconds = float(record["train_seconds"])
    return {"tokens": tokens[-1] if tokens else 0.0, "train_seconds": seconds,
            "tokens_per_second": round(tokens[-1] / seconds, 2) if tokens and seconds else 0.0}


def launch_stage1(work: Path, params_file: Path, processes: int, engine: str) -> dict:
    """`tracer1 launch` of stage1_grpo on `processes` GPUs with `engine`; its throughput."""
    from tracer1.training.launch import LaunchRecipe, Rollouts, recipe_json

    recipe = LaunchRecipe(gpus_per_node=processes, rollouts=Rollouts(engine=engine))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db",
           "TRACER1_PIPELINE_ID": f"gpu-grpo-{processes}x{engine}"}
    subprocess.run([sys.executable, "-m", "tracer1.cli", "launch", "--recipe-json",
                    recipe_json(recipe), "--", "stage1-grpo", "--params", str(params_file)],
                   cwd=work, env=env, check=True)
    return tokens_per_second(work)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("bench/gpu_grpo.py: needs a CUDA GPU (torch sees none); nothing measured",
              file=sys.stderr)
        return 2
    available = torch.cuda.device_count()
    gpus = available if args.gpus == "all" else args.gpus
    if gpus > available:
        print(f"bench/gpu_grpo.py: --gpus {gpus}, but {available} visible", file=sys.stderr)
        return 2
    if "vllm" in args.engines:
        from tracer1.training.launch import LaunchError, require_vllm

        try:
            require_vllm()
        except LaunchError as exc:
            print(f"bench/gpu_grpo.py: {exc} (or pass --engines transformers)",
                  file=sys.stderr)
            return 2

    import yaml

    from tracer1.config import _apply_overrides, load_params
    from tracer1.data.build import build_dataset
    from tracer1.layout import Layout
    from tracer1.training.sft import run_sft

    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tracer1-gpu-grpo-") as tmp:
        work = Path(tmp)
        lay = Layout(work, VARIANT)
        params = load_params(REPO / "params.yaml", overrides(work, args, None))
        build_dataset(params.build_dataset, lay.trajectories, lay.build_record)
        parameters = build_base(params, lay.trajectories, work / "base")
        chosen = overrides(work, args, work / "base")
        params = load_params(REPO / "params.yaml", chosen)
        sft = run_sft(params, VARIANT, probe_windows=0, layout=lay)
        raw = yaml.safe_load((REPO / "params.yaml").read_text())
        params_file = work / "params.yaml"
        params_file.write_text(yaml.safe_dump(_apply_overrides(raw, chosen, "bench")))
        for processes, engine in plan_runs(gpus, args.engines):
            runs[f"{processes}x{engine}"] = launch_stage1(work, params_file, processes, engine)

    result = {
        "what": "Stage-1 GRPO (tracer1 launch -- stage1-grpo), LoRA on a random-init Llama "
                "base in bfloat16; the same global batch in every run",
        "device": torch.cuda.get_device_name(0),
        "gpus": gpus,
        "torch": torch.__version__,
        "parameters": parameters,
        "config": {k: getattr(args, k) for k in ("hidden", "layers", "heads", "ffn", "batch",
                                                  "generations", "steps")},
        "sft_seconds": sft.get("seconds"),
        "runs": runs,
        "ratios": ratios({k: v["tokens_per_second"] for k, v in runs.items()}),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n")
    tmp_out.replace(args.out)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
