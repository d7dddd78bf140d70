"""Pure benchmark statistics: rates, percentile-bootstrap intervals, paired differences.

Everything here is a function of plain numbers (or of objects with the
`EpisodeTrace` counters), seeded where random, so the same inputs always give the
same report. The promotion gate compares policies on the *same* task seeds, so the
difference of two policies is bootstrapped over tasks jointly (paired), which is
much tighter than two independent intervals.

>>> bootstrap_ci([1, 1, 1, 1]) == (1.0, 1.0)
True
>>> lo, hi = bootstrap_ci([1, 0] * 50, samples=2000, seed=0)
>>> 0.39 < lo < 0.5 < hi < 0.61
True
>>> paired_difference([1, 1, 0, 1], [1, 0, 0, 1]).mean
0.25
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

DEFAULT_SAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
_CHUNK = 1 << 22  # resampled entries per chunk: bounds memory for big n x samples


def rate(count: float, total: float) -> float:
    """count / total, 0.0 for an empty denominator (an empty suite scores 0, never NaN)."""
    return float(count) / float(total) if total else 0.0


def success_rate(outcomes: Sequence[float]) -> float:
    """Mean of per-episode 0/1 outcomes."""
    return rate(sum(outcomes), len(outcomes))


def _check(samples: int, confidence: float) -> None:
    if samples < 1:
        raise ValueError(f"bootstrap samples must be >= 1, got {samples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _bootstrap_means(values: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Means of `samples` resamples (with replacement) of `values`' rows' indices."""
    rng = np.random.default_rng(seed)
    n = len(values)
    per_chunk = max(1, _CHUNK // n)
    means = []
    for start in range(0, samples, per_chunk):
        idx = rng.integers(0, n, size=(min(per_chunk, samples - start), n))
        means.append(values[idx].mean(axis=1))
    return np.concatenate(means)


def _percentiles(means: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_ci(
    values: Sequence[float],
    *,
    samples: int = DEFAULT_SAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of `values`; (0.0, 0.0) when empty.

    Deterministic given `seed`. The point estimate (the mean) lies inside for any
    reasonable number of samples; the width shrinks like 1/sqrt(n).
    """
    _check(samples, confidence)
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return 0.0, 0.0
    return _percentiles(_bootstrap_means(data, samples, seed), confidence)


@dataclass(frozen=True)
class PairedDifference:
    """mean(a - b) over paired items with its bootstrap interval."""

    mean: float
    lo: float
    hi: float
    n: int

    def to_dict(self) -> dict[str, float | int | list[float]]:
        return {"mean": self.mean, "ci": [self.lo, self.hi], "n": self.n}


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    samples: int = DEFAULT_SAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedDifference:
    """Difference of two per-task outcome arrays measured on the same tasks, in order.

    Tasks are resampled jointly (one index picks both a[i] and b[i]), so what the
    two policies share (easy and hard tasks) cancels out of the interval.
    """
    _check(samples, confidence)
    left, right = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if left.shape != right.shape:
        raise ValueError(f"paired arrays differ in shape: {left.shape} vs {right.shape}")
    diff = left - right
    if diff.size == 0:
        return PairedDifference(0.0, 0.0, 0.0, 0)
    lo, hi = _percentiles(_bootstrap_means(diff, samples, seed), confidence)
    return PairedDifference(float(diff.mean()), lo, hi, int(diff.size))


def paired_by_task(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    samples: int = DEFAULT_SAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedDifference:
    """`paired_difference` over the task ids both reports share (e.g. two `per_task` maps).

    >>> paired_by_task({"t1": 1, "t2": 0, "t3": 1}, {"t2": 0, "t3": 0, "t9": 1}).mean
    0.5
    """
    shared = sorted(set(a) & set(b))
    return paired_difference([a[k] for k in shared], [b[k] for k in shared], samples=samples,
                             confidence=confidence, seed=seed)


class TraceLike(Protocol):
    """What `episode_stats` reads from an episode (`tracer1.rollout.EpisodeTrace`)."""

    success: bool
    steps: int
    invalid: int
    repetitions: int


def episode_stats(traces: Iterable[TraceLike]) -> dict[str, float | int]:
    """Closed-loop counters of a set of episodes.

    `mean_steps` counts every step of the budget used (invalid ones too);
    `invalid_action_rate` and `repetition_rate` are per planner decision (state),
    so they are comparable across policies and sum to at most 1.
    """
    traces = list(traces)
    states = sum(t.steps for t in traces)
    return {
        "episodes": len(traces),
        "states": states,
        "success_rate": success_rate([float(t.success) for t in traces]),
        "mean_steps": rate(states, len(traces)),
        "invalid_action_rate": rate(sum(t.invalid for t in traces), states),
        "repetition_rate": rate(sum(t.repetitions for t in traces), states),
    }


__all__ = [
    "PairedDifference",
    "bootstrap_ci",
    "episode_stats",
    "paired_by_task",
    "paired_difference",
    "rate",
    "success_rate",
]
