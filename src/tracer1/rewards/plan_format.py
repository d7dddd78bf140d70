"""The format reward: is a completion a well-formed forecast of the right length?

The rule: 1.0 when the completion's first `<plan>` block parses with no errors and
holds exactly `horizon` actions, or between 1 and `horizon - 1` actions ending in a
terminal action (`answer()` / `done()`: the episode ends inside the window, so a plan
may legitimately stop early); 0.0 otherwise. Any parse error (bad line, missing tag,
a second block, oversized input) scores 0, so the reward is binary and strict.

>>> format_reward('<plan>\\nclick(x=1, y=2)\\ndone()\\n</plan>', horizon=5)
1.0
>>> format_reward('<plan>\\nclick(x=1, y=2)\\n</plan>', horizon=5)
0.0
"""

from __future__ import annotations

from tracer1.actions import TERMINAL_ACTIONS, parse_plan


def format_reward(completion_text: str, horizon: int) -> float:
    """1.0 for a clean plan of `horizon` actions (or fewer ending in answer/done), else 0.0."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    parsed = parse_plan(completion_text)
    n = len(parsed.actions)
    if parsed.errors or n == 0 or n > horizon:
        return 0.0
    return float(n == horizon or isinstance(parsed.actions[-1], TERMINAL_ACTIONS))
