"""`stage2_rft`: grounded GRPO — the forecast's first action is executed and rewarded 1/0.

The states come from `collect_feedback`: every state the Stage-1 planner visited,
with the expert's reference from there. `GroundedExecutionReward` re-creates each
state (task from its seed, then a replay of the recorded history), executes the
sampled forecast's first action through the suite's environment — the frozen tool
agent — and scores the effect with the shared pure scorer
(`tracer1.rewards.grounded_score`); both live in `tracer1.rewards.grounded`.

Feedback record (one JSON object per line of ``{feedback_dir}/feedback.jsonl``):
`suite`, `family`, `seed`, `difficulty`, `task_id`, `step`, `instruction`,
`observation` (`observation_to_json` form), `history` (every canonical action
executed before this state), `forecast`, `executed`, `reference_action`,
`reference_box`, `reference_executed`, `reference_answer`. A state seen by a VLM
planner names its screenshot in `observation.screenshot`, relative to the feedback
directory (`collect_feedback` saves the live screens under `screenshots/`).

The grounded reference of a state: the expert's tool call → its executed output
(`reference_executed["output"]`); the expert's answer → the task's answer
(`reference_answer`); a GUI action → that action with its target box.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.actions import Action, Answer, Tool
from tracer1.config import Params
from tracer1.rewards.grounded import GroundedExecutionReward, recorded_action
from tracer1.training.curve import LogFn

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

STAGE = "stage2_rft"
FEEDBACK_FILE = "feedback.jsonl"


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
    from tracer1.trajectory import observation_from_json

    path = Path(feedback_dir) / FEEDBACK_FILE
    rows: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    skipped = 0
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                state = (rec["suite"], rec["family"], int(rec["seed"]), int(rec["difficulty"]),
                         tuple(rec["history"]))
                ref_action = recorded_action(rec["reference_action"], "reference_action")
                text = _reference_text(ref_action, rec)
                observation = observation_from_json(rec["observation"], "observation")
                past = tuple(recorded_action(a, "history") for a in rec["history"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
            if text is _NO_REFERENCE:
                skipped += 1
                continue
            if state in seen:
                continue
            seen.add(state)
            request = PlanRequest(rec["instruction"], observation, past)
            shots = {"images": screenshot_files(feedback_dir, observation)} if images else {}
            rows.append({
                "prompt": request.prompt(horizon, history),
                "suite": state[0],
                "family": state[1],
                "seed": state[2],
                "difficulty": state[3],
                "history": list(state[4]),
                "task_id": rec.get("task_id", ""),
                "step": int(rec.get("step", len(past))),
                "reference_action": rec["reference_action"],
                "reference_box": rec.get("reference_box"),
                "reference_text": text,
                **shots,
            })
    if skipped:
        logger.warning("%s: %d record(s) without a grounded reference skipped", path, skipped)
    return rows


_NO_REFERENCE = object()


def _reference_text(action: Action, rec: dict[str, Any]) -> Any:
    if isinstance(action, Tool):
        executed = rec.get("reference_executed") or {}
        if not executed.get("ok") or not isinstance(executed.get("output"), str):
            return _NO_REFERENCE
        return executed["output"]
    if isinstance(action, Answer):
        return str(rec["reference_answer"])
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
) -> dict[str, Any]:
    """Stage-2 grounded GRPO of `variant` from its Stage-1 model to `params.stage2_rft.out_dir`.

    `feedback_dir` defaults to `params.collect_feedback.out_dir` for the variant.
    """
    from tracer1.policy.model import model_kind, read_meta
    from tracer1.rewards import FormatReward
    from tracer1.training.grpo import run_grpo
    from tracer1.training.stage1 import check_model

    horizon, history = params.forecast.horizon(variant), params.forecast.history
    model_in = params.stage1_grpo.out_dir.format(variant=variant)
    check_model(model_in, horizon=horizon, history=history, read=read_meta)
    if feedback_dir is None:
        feedback_dir = params.collect_feedback.out_dir.format(variant=variant)
    vision = model_kind(read_meta(model_in).kind).vision  # a VLM also gets the screenshots
    dataset = feedback_dataset(feedback_dir, horizon=horizon, history=history, images=vision)
    options = {name: dict(cfg.options) for name, cfg in params.build_dataset.suites.items()}
    reward = GroundedExecutionReward(suite_options=options)
    try:
        metrics = run_grpo(
            model_in,
            dataset,
            [reward, FormatReward(horizon=horizon)],
            [1.0, params.stage2_rft.format_weight],
            params.stage2_rft,
            params.stage2_rft.out_dir.format(variant=variant),
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
