"""A quick offline probe of a policy: greedy forecasts on held-out windows, shared scorers.

Not the benchmark (that is `tracer1.evaluation`): a cheap check that a freshly
trained model emits well-formed plans, reported with its training metrics.
Scores come from the same trl-signature rewards the GRPO stages train on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracer1.rewards import FormatReward, TrajectoryReward


def probe(
    agent: Any,
    rows: Sequence[dict[str, Any]],
    *,
    gamma: float,
    lambda_align: float,
    lambda_rep: float,
) -> dict[str, float]:
    """Greedy plans for window `rows` (prompt, reference, reference_boxes) → mean rewards.

    The rows' prompts are re-rendered by the agent (`Agent.plan` clips them), so the
    probe sees exactly what inference sees; a row's `images` (its screenshot file, for a
    VLM) go along. Returns `format_valid` (share of plans with format reward 1) and
    `trajectory_reward` (mean Stage-1 reward).
    """
    if not rows:
        return {}
    images = [(r.get("images") or [None])[0] for r in rows]
    completions = [c[0] for c in agent.plan_prompts([r["prompt"] for r in rows], images=images)]
    references = [r["reference"] for r in rows]
    boxes = [r.get("reference_boxes") for r in rows]
    fmt = FormatReward(horizon=agent.horizon)(completions=completions)
    traj = TrajectoryReward(gamma=gamma, lambda_align=lambda_align, lambda_rep=lambda_rep)(
        completions=completions, reference=references, reference_boxes=boxes
    )
    n = len(rows)
    return {
        "format_valid": sum(x or 0.0 for x in fmt) / n,
        "trajectory_reward": sum(x or 0.0 for x in traj) / n,
        "probe_windows": float(n),
    }


__all__ = ["probe"]
