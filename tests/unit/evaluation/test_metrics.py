"""Bootstrap intervals and paired differences: correct, seeded, and shrinking with n."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import numpy as np
import pytest

import tracer1.evaluation.metrics as metrics_module
from tracer1.evaluation.metrics import (
    bootstrap_ci,
    episode_stats,
    paired_by_task,
    paired_difference,
    rate,
    success_rate,
)


def _outcomes(n: int, p: float, seed: int) -> list[int]:
    return [int(x) for x in np.random.default_rng(seed).random(n) < p]


@pytest.mark.parametrize("n,p,seed", [(10, 0.3, 0), (37, 0.5, 1), (150, 0.8, 2), (500, 0.1, 3)])
def test_interval_contains_the_point_estimate(n, p, seed):
    values = _outcomes(n, p, seed)
    lo, hi = bootstrap_ci(values, samples=1000, seed=seed)
    assert 0.0 <= lo <= success_rate(values) <= hi <= 1.0


def test_interval_narrows_with_more_tasks():
    widths = []
    for n in (20, 80, 320):
        lo, hi = bootstrap_ci([1, 0] * (n // 2), samples=2000, seed=0)
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4.0, rel=0.25)  # ~ sqrt(320 / 20)


def test_interval_is_deterministic_given_the_seed():
    values = _outcomes(60, 0.5, 7)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_higher_confidence_is_wider():
    values = _outcomes(100, 0.5, 0)
    lo90, hi90 = bootstrap_ci(values, confidence=0.90)
    lo99, hi99 = bootstrap_ci(values, confidence=0.99)
    assert lo99 <= lo90 and hi90 <= hi99 and hi99 - lo99 > hi90 - lo90


def test_degenerate_inputs():
    assert bootstrap_ci([1] * 9) == (1.0, 1.0)
    assert bootstrap_ci([0] * 9) == (0.0, 0.0)
    assert bootstrap_ci([]) == (0.0, 0.0)
    assert success_rate([]) == rate(3, 0) == 0.0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1, 0], confidence=1.0)
    with pytest.raises(ValueError, match="samples"):
        paired_difference([1], [0], samples=0)


def test_chunked_resampling_matches_small_inputs_shape():
    # Big n x samples goes through several chunks and still gives a sane interval.
    values = _outcomes(5000, 0.25, 0)
    lo, hi = bootstrap_ci(values, samples=1000, seed=0)
    assert lo < 0.25 < hi and hi - lo < 0.03


def test_paired_difference_of_identical_policies_is_exactly_zero():
    a = _outcomes(80, 0.5, 0)
    diff = paired_difference(a, a)
    assert (diff.mean, diff.lo, diff.hi, diff.n) == (0.0, 0.0, 0.0, 80)


def test_paired_difference_sign_and_interval():
    base = _outcomes(200, 0.4, 1)
    better = [max(b, int(i % 4 == 0)) for i, b in enumerate(base)]  # fixes some failures
    diff = paired_difference(better, base, samples=2000, seed=0)
    assert diff.mean == pytest.approx(np.mean(better) - np.mean(base))
    assert 0.0 < diff.lo <= diff.mean <= diff.hi
    assert paired_difference(base, better).hi < 0.0
    assert paired_difference([1] * 5, [0] * 5).to_dict() == {"mean": 1.0, "ci": [1.0, 1.0],
                                                             "n": 5}


def test_pairing_is_tighter_than_independent_intervals():
    # b is a copy of a with a few extra successes: the shared variation cancels when paired.
    a = _outcomes(100, 0.5, 2)
    b = [1 if i < 10 else x for i, x in enumerate(a)]
    paired = paired_difference(b, a, samples=2000)
    lo_a, hi_a = bootstrap_ci(a, samples=2000)
    lo_b, hi_b = bootstrap_ci(b, samples=2000)
    assert paired.hi - paired.lo < (hi_a - lo_a) + (hi_b - lo_b)
    assert paired.hi - paired.lo < hi_a - lo_a


def test_paired_arrays_must_align():
    with pytest.raises(ValueError, match="shape"):
        paired_difference([1, 0, 1], [1])


def test_paired_by_task_uses_the_shared_ids_in_order():
    a = {"t1": 1, "t2": 1, "t3": 0, "only_a": 1}
    b = {"t3": 1, "t2": 0, "t1": 1, "only_b": 0}
    diff = paired_by_task(a, b)
    assert diff.n == 3 and diff.mean == pytest.approx(0.0)
    assert paired_by_task(a, b, seed=1) == paired_difference([1, 1, 0], [1, 0, 1], seed=1)


def test_episode_stats_rates_are_per_decision():
    traces = [SimpleNamespace(success=True, steps=4, invalid=1, repetitions=0),
              SimpleNamespace(success=False, steps=6, invalid=2, repetitions=3)]
    assert episode_stats(traces) == {
        "episodes": 2, "states": 10, "success_rate": 0.5, "mean_steps": 5.0,
        "invalid_action_rate": 0.3, "repetition_rate": 0.3,
    }
    assert episode_stats([])["success_rate"] == 0.0


def test_docstring_examples():
    result = doctest.testmod(metrics_module)
    assert result.attempted > 0 and result.failed == 0
