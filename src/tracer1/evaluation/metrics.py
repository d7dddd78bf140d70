"""Pure benchmark statistics: rates, intervals of success rates, paired differences.

Everything here is a function of plain numbers (or of objects with the
`EpisodeTrace` counters), seeded where random, so the same inputs always give the
same report.

* A success rate (k successes of n 0/1 outcomes) gets the **Wilson score interval**
  (`wilson_ci`): closed form, no resampling, and right at the edges - 0/50 is not
  "exactly 0" (upper bound ~0.07) and 50/50 not "exactly 1". A percentile bootstrap
  (`bootstrap_ci`, kept for non-binary values) collapses to [0, 0] / [1, 1] there.
* Two policies scored on the *same* task seeds are compared paired, task by task.
  For 0/1 outcomes `paired_binary_difference` gives Newcombe's hybrid score interval
  for a difference of paired proportions (Newcombe 1998, *Stat. Med.* 17:2635, method 10:
  the two Wilson intervals combined with the estimated correlation of the pairs);
  it too stays honest when nothing differs (0 of n tasks discordant is not "exactly 0").
  `paired_difference` is the paired bootstrap for any values. Both are much tighter
  than two independent intervals when the policies share easy and hard tasks.

>>> lo, hi = wilson_ci(0, 50)
>>> lo, round(hi, 4)
(0.0, 0.0713)
>>> lo, hi = wilson_ci(50, 50)
>>> round(lo, 4), hi
(0.9287, 1.0)
>>> bootstrap_ci([1, 1, 1, 1]) == (1.0, 1.0)
True
>>> lo, hi = bootstrap_ci([1, 0] * 50, samples=2000, seed=0)
>>> 0.39 < lo < 0.5 < hi < 0.61
True
>>> paired_difference([1, 1, 0, 1], [1, 0, 0, 1]).mean
0.25
>>> d = paired_binary_difference([0] * 50, [0] * 50)
>>> d.mean, round(d.lo, 4), round(d.hi, 4)
(0.0, -0.0713, 0.0713)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
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


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _check(samples: int, confidence: float) -> None:
    if samples < 1:
        raise ValueError(f"bootstrap samples must be >= 1, got {samples}")
    _check_confidence(confidence)


def z_value(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The two-sided standard-normal quantile of `confidence` (1.959964 for 0.95)."""
    _check_confidence(confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _count(outcomes: Sequence[float], what: str = "outcomes") -> int:
    """Number of successes in 0/1 outcomes; anything else is refused."""
    bad = [v for v in outcomes if v not in (0, 1)]
    if bad:
        raise ValueError(f"{what} must be 0/1, got {bad[:3]!r}")
    return int(sum(outcomes))


def wilson_ci(
    successes: int, total: int, *, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion `successes / total`; (0.0, 0.0) when
    `total` is 0 (an empty suite, as `rate` scores it).

    Closed form (no seed), inside [0, 1], and never degenerate: at 0 successes the upper
    bound is z^2 / (n + z^2) (~0.07 for 50 tasks at 95%), at n successes the lower bound
    is its mirror image. Coverage stays close to nominal for small n, where the normal
    (Wald) interval and the percentile bootstrap do not.
    """
    if not 0 <= successes <= total:
        raise ValueError(f"need 0 <= successes <= total, got {successes} of {total}")
    z = z_value(confidence)
    if total == 0:
        return 0.0, 0.0
    n, p = float(total), successes / total
    z2 = z * z
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Exact edges: at k = 0 (k = n) the bound is 0 (1) in exact arithmetic.
    lo = 0.0 if successes == 0 else max(0.0, center - half)
    hi = 1.0 if successes == total else min(1.0, center + half)
    return lo, hi


def success_ci(
    outcomes: Sequence[float], *, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """`wilson_ci` of a list of per-episode 0/1 outcomes (the report's `ci95`)."""
    return wilson_ci(_count(outcomes), len(outcomes), confidence=confidence)


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
    """mean(a - b) over paired items with its interval (Newcombe or bootstrap)."""

    mean: float
    lo: float
    hi: float
    n: int

    def to_dict(self) -> dict[str, float | int | list[float]]:
        return {"mean": self.mean, "ci": [self.lo, self.hi], "n": self.n}


@dataclass(frozen=True)
class PairedCounts:
    """The paired 2x2 table of two 0/1 outcome arrays on the same tasks."""

    both: int
    a_only: int
    """Tasks `a` solved and `b` did not."""
    b_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    @classmethod
    def of(cls, a: Sequence[float], b: Sequence[float]) -> PairedCounts:
        if len(a) != len(b):
            raise ValueError(f"paired arrays differ in length: {len(a)} vs {len(b)}")
        _count(a, "a"), _count(b, "b")
        pairs = list(zip(a, b, strict=True))
        return cls(both=sum(1 for x, y in pairs if x and y),
                   a_only=sum(1 for x, y in pairs if x and not y),
                   b_only=sum(1 for x, y in pairs if y and not x),
                   neither=sum(1 for x, y in pairs if not x and not y))


def newcombe_paired_ci(
    counts: PairedCounts, *, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) of p_a - p_b on paired 0/1 data.

    With Wilson intervals [l_a, u_a], [l_b, u_b] of the two marginal rates and phi the
    (continuity-adjusted) correlation of the pairs,
    lo = d - sqrt((p_a - l_a)^2 - 2 phi (p_a - l_a)(u_b - p_b) + (u_b - p_b)^2), hi mirrored.
    phi is 0 when a margin is empty, and `both * neither - a_only * b_only` shrinks by n/2
    towards 0 when positive (Newcombe's correction; the Fagerland-Lydersen-Laake form).
    (0.0, 0.0) when there are no pairs.
    """
    n = counts.n
    if n == 0:
        _check_confidence(confidence)
        return 0.0, 0.0
    ka, kb = counts.both + counts.a_only, counts.both + counts.b_only
    pa, pb = ka / n, kb / n
    la, ua = wilson_ci(ka, n, confidence=confidence)
    lb, ub = wilson_ci(kb, n, confidence=confidence)
    margins = float(ka) * (n - ka) * kb * (n - kb)
    phi = 0.0
    if margins > 0:
        cross = counts.both * counts.neither - counts.a_only * counts.b_only
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(margins)
        elif cross < 0:
            phi = cross / math.sqrt(margins)
    d = pa - pb
    lo = d - math.sqrt(max(0.0, (pa - la) ** 2 - 2 * phi * (pa - la) * (ub - pb) + (ub - pb) ** 2))
    hi = d + math.sqrt(max(0.0, (pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2))
    return max(-1.0, lo), min(1.0, hi)


def paired_binary_difference(
    a: Sequence[float], b: Sequence[float], *, confidence: float = DEFAULT_CONFIDENCE
) -> PairedDifference:
    """Difference of two per-task 0/1 outcome arrays on the same tasks, in order, with
    Newcombe's paired interval (`newcombe_paired_ci`): deterministic, correct at 0% / 100%.

    >>> d = paired_binary_difference([1] * 10, [0] * 10)
    >>> d.mean, round(d.lo, 3), d.hi
    (1.0, 0.608, 1.0)
    """
    counts = PairedCounts.of(a, b)
    lo, hi = newcombe_paired_ci(counts, confidence=confidence)
    mean = (counts.a_only - counts.b_only) / counts.n if counts.n else 0.0
    return PairedDifference(mean, lo, hi, counts.n)


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


PAIRED_METHODS = ("newcombe", "bootstrap")


def paired_by_task(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    method: str = "newcombe",
    samples: int = DEFAULT_SAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedDifference:
    """a - b over the task ids both share (e.g. two reports' `per_task` maps), in id order.

    `method`: ``newcombe`` (0/1 outcomes: `paired_binary_difference`; `samples` and `seed`
    unused) or ``bootstrap`` (any values: `paired_difference`).

    >>> paired_by_task({"t1": 1, "t2": 0, "t3": 1}, {"t2": 0, "t3": 0, "t9": 1}).mean
    0.5
    """
    if method not in PAIRED_METHODS:
        raise ValueError(f"unknown paired method {method!r} (known: {', '.join(PAIRED_METHODS)})")
    shared = sorted(set(a) & set(b))
    left, right = [a[k] for k in shared], [b[k] for k in shared]
    if method == "newcombe":
        return paired_binary_difference(left, right, confidence=confidence)
    return paired_difference(left, right, samples=samples, confidence=confidence, seed=seed)


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
    "PAIRED_METHODS",
    "PairedCounts",
    "PairedDifference",
    "bootstrap_ci",
    "episode_stats",
    "newcombe_paired_ci",
    "paired_binary_difference",
    "paired_by_task",
    "paired_difference",
    "rate",
    "success_ci",
    "success_rate",
    "wilson_ci",
    "z_value",
]
