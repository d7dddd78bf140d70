"""`stage1_grpo`: trajectory-level GRPO — each forecast scored against the expert's next T actions.

Rewards (trl signature, weights from `Stage1GrpoConfig`): `TrajectoryReward` (the
discounted, repetition-penalised alignment of the forecast with the reference
window) and `FormatReward` (a clean plan of the right length). Starts from the
variant's SFT model directory.
"""

from __future__ import annotations

import os
from typing import Any

from tracer1.config import Params
from tracer1.layout import Layout
from tracer1.training.curve import LogFn

STAGE = "stage1_grpo"
COLUMNS = ("prompt", "reference", "reference_boxes", "episode_id", "step")


def stage1_rewards(params: Params, variant: str) -> tuple[list[Any], list[float]]:
    """The Stage-1 reward functions and their weights for `variant`."""
    from tracer1.rewards import FormatReward, TrajectoryReward

    cfg = params.stage1_grpo
    horizon = params.forecast.horizon(variant)
    funcs = [
        TrajectoryReward(gamma=cfg.gamma, lambda_align=cfg.lambda_align, lambda_rep=cfg.lambda_rep),
        FormatReward(horizon=horizon),
    ]
    return funcs, [cfg.trajectory_weight, cfg.format_weight]


def run_stage1(
    params: Params,
    variant: str,
    *,
    log: LogFn | None = None,
    data_dir: str | os.PathLike | None = None,
    curve_path: str | os.PathLike | None = None,
    layout: Layout | None = None,
) -> dict[str, Any]:
    """Stage-1 GRPO of `variant` from its `layout.sft_model` to its `layout.stage1_model`
    (`layout` defaults to the working directory's; `data_dir` to its trajectories)."""
    from tracer1.policy.model import model_kind, read_meta
    from tracer1.training.data import window_dataset
    from tracer1.training.grpo import run_grpo

    horizon, history = params.forecast.horizon(variant), params.forecast.history
    layout = layout or Layout(variant=variant)
    model_in = str(layout.sft_model)
    check_model(model_in, horizon=horizon, history=history, read=read_meta)
    data_dir = data_dir if data_dir is not None else layout.trajectories
    vision = model_kind(read_meta(model_in).kind).vision  # a VLM also gets the screenshots
    dataset = window_dataset(data_dir, "train", horizon=horizon, history=history, images=vision)
    dataset = dataset.select_columns(list(COLUMNS) + (["images"] if vision else []))
    funcs, weights = stage1_rewards(params, variant)
    return run_grpo(
        model_in,
        dataset,
        funcs,
        weights,
        params.stage1_grpo,
        layout.stage1_model,
        params.policy,
        stage=STAGE,
        log=log,
        curve_path=curve_path,
    )


def check_model(path: str, *, horizon: int, history: int, read: Any) -> None:
    """Refuse a model directory trained for another horizon/history (a stale upstream stage)."""
    meta = read(path)
    if (meta.horizon, meta.history) != (horizon, history):
        raise ValueError(
            f"{path}: trained for horizon {meta.horizon}, history {meta.history}; "
            f"params ask for horizon {horizon}, history {history} (re-run the upstream stage)"
        )


__all__ = ["COLUMNS", "STAGE", "check_model", "run_stage1", "stage1_rewards"]
