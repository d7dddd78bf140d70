"""A quick offline probe of a policy: greedy forecasts on held-out windows, shared scorers.

Not the benchmark (that is `tracer1.evaluation`): a cheap check that a freshly
trained model emits well-formed plans, reported with its training metrics.
Scores come from the same trl-signature rewards the GRPO stages train on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracer1.progress import reporter
from tracer1.rewards import FormatReward, TrajectoryReward


def probe(
    agent: Any,
    rows: Sequence[dict[str, Any]],
    *,
    gamma: float,
    lambda_align: float,
    lambda_rep: float,
    progress: str | None = "probe",
) -> dict[str, float]:
    """Greedy plans for window `rows` (prompt, reference, reference_boxes) → mean rewards.

    The rows' prompts are re-rendered by the agent (`Agent.plan` clips them), so the
    probe sees exactly what inference sees; a row's `images` (its screenshot file, for a
    VLM) go along. Returns `format_valid` (share of plans with format reward 1) and
    `trajectory_reward` (mean Stage-1 reward). The windows planned so far are reported
    under the label `progress` (`tracer1.progress`; None: quiet).
    """
    if not rows:
        return {}
    images = [(r.get("images") or [None])[0] for r in rows]
    prompts = [r["prompt"] for r in rows]
    # The agent's own batches, one call each, so progress shows between them; greedy
    # plans of the same batches are the same as in one call.
    batch = max(int(getattr(agent, "batch_size", len(rows))), 1)
    report = reporter(progress, len(rows), "windows")
    completions: list[str] = []
    for start in range(0, len(rows), batch):
        end = start + batch
        completions += [c[0] for c in agent.plan_prompts(prompts[start:end],
                                                         images=images[start:end])]
        report(len(completions))
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
