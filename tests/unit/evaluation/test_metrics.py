"""Wilson and bootstrap intervals, paired differences: correct at the edges, seeded where
random, covering at their nominal level, and shrinking with n."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import numpy as np
import pytest

import tracer1.evaluation.metrics as metrics_module
from tracer1.evaluation.metrics import (
    PairedCounts,
    bootstrap_ci,
    episode_stats,
    newcombe_paired_ci,
    paired_binary_difference,
    paired_by_task,
    paired_difference,
    rate,
    success_ci,
    success_rate,
    wilson_ci,
    z_value,
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
    assert diff == paired_binary_difference([1, 1, 0], [1, 0, 1])
    assert paired_by_task(a, b, method="bootstrap", seed=1) == paired_difference(
        [1, 1, 0], [1, 0, 1], seed=1)
    with pytest.raises(ValueError, match="method"):
        paired_by_task(a, b, method="wald")


# ------------------------------------------------------------------ Wilson


def test_wilson_is_honest_at_zero_and_one_hundred_percent():
    z2 = z_value(0.95) ** 2
    lo, hi = wilson_ci(0, 50)
    assert lo == 0.0 and hi == pytest.approx(z2 / (50 + z2)) and 0.07 < hi < 0.072
    lo, hi = wilson_ci(50, 50)
    assert hi == 1.0 and lo == pytest.approx(50 / (50 + z2)) and lo < 1.0
    assert success_ci([0] * 50) == wilson_ci(0, 50)
    assert success_ci([1.0] * 50) == wilson_ci(50, 50)


def test_wilson_known_values():
    # Reference values (Newcombe 1998, Stat. Med. 17:857, table II, method 3).
    for (k, n), (lo, hi) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                             (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}.items():
        got = wilson_ci(k, n)
        assert got == (pytest.approx(lo, abs=1e-4), pytest.approx(hi, abs=1e-4)), (k, n)
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_wilson_contains_the_rate_narrows_and_widens_with_confidence():
    for k, n in [(0, 1), (1, 1), (3, 10), (37, 80), (499, 500)]:
        lo, hi = wilson_ci(k, n)
        assert 0.0 <= lo <= k / n <= hi <= 1.0 and lo < hi
    widths = [wilson_ci(n // 2, n)[1] - wilson_ci(n // 2, n)[0] for n in (20, 80, 320)]
    assert widths[0] > widths[1] > widths[2]
    lo90, hi90 = wilson_ci(7, 20, confidence=0.90)
    lo99, hi99 = wilson_ci(7, 20, confidence=0.99)
    assert lo99 < lo90 and hi90 < hi99
    assert wilson_ci(0, 0) == (0.0, 0.0) and success_ci([]) == (0.0, 0.0)


def test_wilson_refuses_what_is_not_a_proportion():
    with pytest.raises(ValueError, match="successes"):
        wilson_ci(5, 4)
    with pytest.raises(ValueError, match="0/1"):
        success_ci([0.5, 1])
    with pytest.raises(ValueError, match="confidence"):
        wilson_ci(1, 2, confidence=1.0)


def test_wilson_coverage_is_near_nominal():
    rng = np.random.default_rng(0)
    n, trials = 30, 4000
    for p in (0.05, 0.3, 0.5):
        ks = rng.binomial(n, p, size=trials)
        covered = np.mean([lo <= p <= hi for lo, hi in (wilson_ci(int(k), n) for k in ks)])
        assert 0.92 <= covered <= 0.985, (p, covered)


# ------------------------------------------------------------------ Newcombe paired


def test_newcombe_paired_reference_values():
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017),
    # ch. 8: Bentur et al. (2009) [[1, 1], [7, 12]] gives -0.507 to -0.026.
    lo, hi = newcombe_paired_ci(PairedCounts(both=1, a_only=1, b_only=7, neither=12))
    assert (lo, hi) == (pytest.approx(-0.507, abs=1e-3), pytest.approx(-0.026, abs=1e-3))


def test_newcombe_paired_is_honest_when_nothing_differs():
    same = paired_binary_difference([0] * 50, [0] * 50)
    assert same.mean == 0.0 and same.n == 50
    assert same.lo == pytest.approx(-wilson_ci(0, 50)[1]) and same.hi == -same.lo > 0.07
    ones = paired_binary_difference([1] * 50, [1] * 50)
    assert ones.lo < 0.0 < ones.hi
    all_better = paired_binary_difference([1] * 50, [0] * 50)
    assert all_better.mean == 1.0 and 0.8 < all_better.lo < 1.0 == all_better.hi
    assert paired_binary_difference([], []) == paired_binary_difference([], [])
    assert paired_binary_difference([], []).n == 0


def test_newcombe_sign_antisymmetry_and_pairing_tightness():
    a = _outcomes(100, 0.5, 2)
    fixed = [i for i, x in enumerate(a) if not x][:10]
    b = [1 if i in fixed else x for i, x in enumerate(a)]
    ba, ab = paired_binary_difference(b, a), paired_binary_difference(a, b)
    assert ba.mean == pytest.approx(0.1)
    assert ba.mean == pytest.approx(-ab.mean)
    assert (ba.lo, ba.hi) == (pytest.approx(-ab.hi), pytest.approx(-ab.lo))
    assert 0.0 < ba.lo <= ba.mean <= ba.hi  # ten extra solves, none lost: it shows
    lo_a, hi_a = success_ci(a)
    assert ba.hi - ba.lo < hi_a - lo_a  # tighter than one policy's own interval


def test_newcombe_coverage_is_near_nominal():
    # Correlated pairs (shared task difficulty): the interval covers p_a - p_b ~95%.
    rng = np.random.default_rng(1)
    n, trials, covered = 40, 3000, 0
    for _ in range(trials):
        easy = rng.random(n) < 0.5
        a = (rng.random(n) < np.where(easy, 0.8, 0.2)).astype(int)
        b = (rng.random(n) < np.where(easy, 0.7, 0.1)).astype(int)
        d = paired_binary_difference(a.tolist(), b.tolist())
        covered += d.lo <= 0.1 <= d.hi
    assert 0.92 <= covered / trials <= 0.985


def test_paired_counts_refuse_misaligned_or_non_binary():
    with pytest.raises(ValueError, match="length"):
        PairedCounts.of([1, 0], [1])
    with pytest.raises(ValueError, match="0/1"):
        PairedCounts.of([2, 0], [1, 0])


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
