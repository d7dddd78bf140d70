"""Pure scorers shared by training and evaluation (one scorer, no drift).

* `similarity` - one action against one action, in [0, 1];
* `trajectory_reward` / `trajectory_rewards` - the Stage-1 reward of a forecast
  (of one / of many);
* `format_reward` - is a completion a clean plan of the right length;
* `grounded_score` (`grounded_gui`, `grounded_tool`) - the Stage-2 binary reward of
  an executed action;
* `TrajectoryReward`, `FormatReward`, `GroundedExecutionReward` - the same, with trl's
  reward signature (the last executes the forecast's first action first).
"""

from tracer1.rewards.forecast import (
    discount_weights,
    forecast_window,
    reference_window,
    trajectory_reward,
    trajectory_rewards,
)
from tracer1.rewards.grounded import (
    GroundedExecutionReward,
    grounded_gui,
    grounded_score,
    grounded_tool,
)
from tracer1.rewards.plan_format import format_reward
from tracer1.rewards.similarity import (
    CLICK_SCALE,
    SAME_POINT,
    register_similarity,
    repetition_flags,
    same_action,
    similarity,
)
from tracer1.rewards.text import answers_match, normalize_answer, normalize_key, token_f1
from tracer1.rewards.wrappers import FormatReward, TrajectoryReward, completion_text

__all__ = [
    "CLICK_SCALE",
    "SAME_POINT",
    "FormatReward",
    "GroundedExecutionReward",
    "TrajectoryReward",
    "answers_match",
    "completion_text",
    "discount_weights",
    "forecast_window",
    "format_reward",
    "grounded_gui",
    "grounded_score",
    "grounded_tool",
    "normalize_answer",
    "normalize_key",
    "reference_window",
    "register_similarity",
    "repetition_flags",
    "same_action",
    "similarity",
    "token_f1",
    "trajectory_reward",
    "trajectory_rewards",
]
