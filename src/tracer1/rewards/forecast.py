"""The Stage-1 trajectory reward of one forecast: the plain, obviously-correct reference.

    R = sum_k gamma^k (lambda_align * sim(pred_k, ref_k) - lambda_rep * rep_k) / sum_k gamma^k

over k < T = len(ref). `trajectory_rewards` scores many forecasts (a GRPO group) with it:
plain Python, about 1 ms of a 2.6 s Stage-1 step, so there is no faster second copy to keep
in agreement.

Windows at the end of an episode:

* the reference is padded with `done()` past the episode's end (by the caller, or here
  when `horizon` is given);
* a forecast that stops early *after a terminal action* (`answer()` / `done()`) is padded
  with `done()` too: the episode is over, and `format_reward` accepts such plans, so the
  two rewards agree on what a correct short plan is;
* any other missing position scores 0 (sim 0, rep 0); positions past T are ignored.

>>> from tracer1.actions import Click, Type
>>> ref = [Click(100, 100), Type("alice"), Done()]
>>> trajectory_reward(ref, ref, gamma=0.9, lambda_align=1.0, lambda_rep=0.5)
1.0
>>> round(trajectory_reward([Click(100, 100)], ref, gamma=0.5, lambda_align=1.0, lambda_rep=0.5), 4)
0.5714
"""

from __future__ import annotations

from collections.abc import Sequence

from tracer1.actions import TERMINAL_ACTIONS, Action, Done
from tracer1.rewards.similarity import repetition_flags, similarity


def check_weights(gamma: float, lambda_align: float, lambda_rep: float) -> None:
    """Reject settings that make the reward meaningless (configuration errors, not model output)."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if lambda_align < 0 or lambda_rep < 0:
        raise ValueError(f"lambdas must be >= 0, got {lambda_align}, {lambda_rep}")


def discount_weights(gamma: float, horizon: int) -> list[float]:
    """`[gamma^0, ..., gamma^(T-1)]`.

    >>> discount_weights(0.5, 3)
    [1.0, 0.5, 0.25]
    """
    return [float(gamma**k) for k in range(horizon)]


def reference_window(ref: Sequence[Action], horizon: int | None = None) -> list[Action]:
    """The reference cut or padded with `done()` to `horizon` (unchanged when None)."""
    if horizon is None:
        return list(ref)
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")
    return list(ref[:horizon]) + [Done()] * max(0, horizon - len(ref))


def forecast_window(pred: Sequence[Action], horizon: int) -> list[Action | None]:
    """The forecast cut to `horizon`; past its end `done()` after a terminal action, else None.

    >>> from tracer1.actions import Answer, Click
    >>> forecast_window([Answer("4")], 3)
    [Answer(text='4'), Done(), Done()]
    >>> forecast_window([Click(1, 2)], 2)
    [Click(x=1, y=2, target=None), None]
    """
    window: list[Action | None] = list(pred[:horizon])
    missing = horizon - len(window)
    if missing > 0:
        ended = bool(window) and isinstance(window[-1], TERMINAL_ACTIONS)
        window += [Done() if ended else None] * missing
    return window


def trajectory_reward(
    pred: Sequence[Action],
    ref: Sequence[Action],
    *,
    gamma: float,
    lambda_align: float,
    lambda_rep: float,
    horizon: int | None = None,
) -> float:
    """Discounted, normalised alignment of a forecast with the reference window.

    `ref` is the reference window, already padded with `done()` (T = len(ref)); or a
    shorter reference plus `horizon` = T, positions past its end then being `done()`.
    An empty window scores 0.
    """
    check_weights(gamma, lambda_align, lambda_rep)
    window = reference_window(ref, horizon)
    forecast = forecast_window(pred, len(window))
    present = [a for a in forecast if a is not None]  # missing positions only trail
    reps = repetition_flags(present)
    total = norm = 0.0
    for k, (ref_k, pred_k) in enumerate(zip(window, forecast, strict=True)):
        weight = gamma**k
        norm += weight
        if pred_k is not None:
            total += weight * (lambda_align * similarity(pred_k, ref_k) - lambda_rep * reps[k])
    return total / norm if norm else 0.0


def trajectory_rewards(
    preds: Sequence[Sequence[Action]],
    refs: Sequence[Sequence[Action]],
    *,
    gamma: float,
    lambda_align: float,
    lambda_rep: float,
    horizon: int | None = None,
) -> list[float]:
    """`trajectory_reward(preds[i], refs[i], ...)` for every i.

    >>> from tracer1.actions import Click
    >>> ref = [Click(100, 100), Done()]
    >>> looping = [Click(100, 100), Click(101, 101)]  # second click: sim 0 vs done(), rep 1
    >>> trajectory_rewards([ref, looping], [ref, ref], gamma=0.5, lambda_align=1.0, lambda_rep=0.5)
    [1.0, 0.5]
    """
    check_weights(gamma, lambda_align, lambda_rep)
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} forecasts but {len(refs)} references")
    return [
        trajectory_reward(pred, ref, gamma=gamma, lambda_align=lambda_align,
                          lambda_rep=lambda_rep, horizon=horizon)
        for pred, ref in zip(preds, refs, strict=True)
    ]
