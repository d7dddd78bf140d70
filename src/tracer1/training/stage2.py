"""`stage2_rft`: grounded GRPO — the forecast's first action is executed and rewarded 1/0.

The states come from `collect_feedback`: every state the Stage-1 planner visited,
with the expert's reference from there. `GroundedExecutionReward` re-creates each
state (task from its seed, then a replay of the recorded history), executes the
sampled forecast's first action through the suite's environment — the frozen tool
agent — and scores the effect with the shared pure scorer
(`tracer1.rewards.grounded_score`); both live in `tracer1.rewards.grounded`.

The states are `tracer1.records.FeedbackRecord`s, one JSON object per line of
``{feedback_dir}/feedback.jsonl``. A state seen by a VLM planner names its screenshot in
`observation.screenshot`, relative to the feedback directory (`collect_feedback` saves
the live screens under `screenshots/`).

The grounded reference of a state: the expert's tool call → its executed output
(`reference_executed["output"]`); the expert's answer → the task's answer
(`reference_answer`); a GUI action → that action with its target box.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.actions import Answer, Tool
from tracer1.config import Params
from tracer1.feedback import FEEDBACK_FILE
from tracer1.layout import Layout
from tracer1.records import FeedbackRecord, read_feedback
from tracer1.rewards.grounded import GroundedExecutionReward
from tracer1.training.curve import LogFn

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

STAGE = "stage2_rft"


# ------------------------------------------------------------------ the dataset


def feedback_rows(
    feedback_dir: str | os.PathLike, *, horizon: int, history: int, images: bool = False
) -> list[dict[str, Any]]:
    """Stage-2 rows from ``{feedback_dir}/feedback.jsonl``: the prompt plus the reward columns
    (with `images`, also the state's screenshot file, for a VLM: `screenshot_files`).

    States recorded more than once (the same task and history) are kept once.
    A record whose expert tool call failed has no grounded reference and is skipped.
    """
    from tracer1.policy.base import PlanRequest
    from tracer1.training.data import screenshot_files

    path = Path(feedback_dir) / FEEDBACK_FILE
    rows: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    skipped = 0
    for record in read_feedback(path):
        text = _reference_text(record)
        if text is _NO_REFERENCE:
            skipped += 1
            continue
        rec = record.to_json()  # the columns keep the recorded (canonical) text
        state = (record.suite, record.family, record.seed, record.difficulty,
                 tuple(rec["history"]))
        if state in seen:
            continue
        seen.add(state)
        observation = record.observation
        request = PlanRequest(record.instruction, observation, record.history)
        shots = {"images": screenshot_files(feedback_dir, observation)} if images else {}
        rows.append({
            "prompt": request.prompt(horizon, history),
            "suite": state[0],
            "family": state[1],
            "seed": state[2],
            "difficulty": state[3],
            "history": list(state[4]),
            "task_id": record.task_id,
            "step": record.step,
            "reference_action": rec["reference_action"],
            "reference_box": rec["reference_box"],
            "reference_text": text,
            **shots,
        })
    if skipped:
        logger.warning("%s: %d record(s) without a grounded reference skipped", path, skipped)
    return rows


_NO_REFERENCE = object()


def _reference_text(record: FeedbackRecord) -> Any:
    if isinstance(record.reference_action, Tool):
        executed = record.reference_executed or {}
        if not executed.get("ok") or not isinstance(executed.get("output"), str):
            return _NO_REFERENCE
        return executed["output"]
    if isinstance(record.reference_action, Answer):
        return str(record.reference_answer)
    return None


def feedback_dataset(feedback_dir: str | os.PathLike, *, horizon: int, history: int,
                     images: bool = False) -> Dataset:
    """`feedback_rows` as a `datasets.Dataset`; an empty feedback set is an error."""
    from datasets import Dataset

    rows = feedback_rows(feedback_dir, horizon=horizon, history=history, images=images)
    if not rows:
        raise ValueError(f"{feedback_dir}: no usable feedback states")
    return Dataset.from_list(rows)


def run_stage2(
    params: Params,
    variant: str,
    feedback_dir: str | os.PathLike | None = None,
    *,
    log: LogFn | None = None,
    curve_path: str | os.PathLike | None = None,
    layout: Layout | None = None,
) -> dict[str, Any]:
    """Stage-2 grounded GRPO of `variant` from its `layout.stage1_model` to its
    `layout.stage2_model` (`layout` defaults to the working directory's).

    `feedback_dir` defaults to the variant's `layout.feedback`.
    """
    from tracer1.policy.model import model_kind, read_meta
    from tracer1.rewards import FormatReward
    from tracer1.training.grpo import run_grpo
    from tracer1.training.stage1 import check_model

    horizon, history = params.forecast.horizon(variant), params.forecast.history
    layout = layout or Layout(variant=variant)
    model_in = str(layout.stage1_model)
    check_model(model_in, horizon=horizon, history=history, read=read_meta)
    if feedback_dir is None:
        feedback_dir = layout.feedback
    vision = model_kind(read_meta(model_in).kind).vision  # a VLM also gets the screenshots
    dataset = feedback_dataset(feedback_dir, horizon=horizon, history=history, images=vision)
    options = {name: dict(cfg.options) for name, cfg in params.suites.items()}
    reward = GroundedExecutionReward(suite_options=options)
    try:
        metrics = run_grpo(
            model_in,
            dataset,
            [reward, FormatReward(horizon=horizon)],
            [1.0, params.stage2_rft.format_weight],
            params.stage2_rft,
            layout.stage2_model,
            params.policy,
            stage=STAGE,
            log=log,
            curve_path=curve_path,
        )
    finally:
        reward.close()
    metrics["executions"] = reward.executions
    return metrics


__all__ = [
    "FEEDBACK_FILE",
    "STAGE",
    "feedback_dataset",
    "feedback_rows",
    "run_stage2",
]
