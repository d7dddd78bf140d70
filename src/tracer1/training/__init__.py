"""Training: SFT warm start, the shared GRPO runner, Stage 1 (trajectory) and Stage 2 (grounded).

| module | what it is |
|---|---|
| `data` | trajectories → forecast-window datasets; pre-tokenized SFT rows; dataset hash |
| `sft` | `run_sft`: tokenizer + tiny model (or base + LoRA), trl `SFTTrainer`, model dir |
| `grpo` | `run_grpo`: trl `GRPOTrainer` with fingerprinted, resumable `{out_dir}.ckpt/` |
| `stage1` | `run_stage1`: trajectory reward + format reward on training windows |
| `stage2` | the feedback dataset, `run_stage2` (grounded reward: `tracer1.rewards.grounded`) |
| `curve` | per-step metrics → the caller's `log` hook and a CSV for `dvc plots` |
| `probe` | greedy plans on a few val windows → format-valid rate, mean trajectory reward |

torch, transformers and trl are imported inside the functions that use them.
"""

from tracer1.training.curve import LogFn, write_curve
from tracer1.training.data import window_dataset, window_records
from tracer1.training.grpo import checkpoint_dir, run_grpo
from tracer1.training.sft import run_sft
from tracer1.training.stage1 import run_stage1
from tracer1.training.stage2 import feedback_dataset, run_stage2

__all__ = [
    "LogFn",
    "checkpoint_dir",
    "feedback_dataset",
    "run_grpo",
    "run_sft",
    "run_stage1",
    "run_stage2",
    "window_dataset",
    "window_records",
    "write_curve",
]
