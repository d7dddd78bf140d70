"""`data.build.subsample`: the stable hash-subsample behind an import's weight and cap."""

from __future__ import annotations

import doctest

import tracer1.data.build as build_module
from tracer1.data.build import subsample

ROWS = [{"episode_id": f"x/{i}", "instruction": f"Task number {i // 2}"} for i in range(400)]


def _ids(rows):
    return [r["episode_id"] for r in rows]


def test_weight_keeps_about_that_share_in_order_and_whole_instruction_groups():
    kept = subsample(ROWS, weight=0.3)
    assert 0.2 * len(ROWS) < len(kept) < 0.4 * len(ROWS)
    assert _ids(kept) == [i for i in _ids(ROWS) if i in set(_ids(kept))]  # source order
    instructions = {r["instruction"] for r in kept}
    assert kept == [r for r in ROWS if r["instruction"] in instructions]  # pairs stay together


def test_stable_and_nested_as_the_weight_grows():
    small, large = subsample(ROWS, weight=0.2), subsample(ROWS, weight=0.6)
    assert small == subsample(list(ROWS), weight=0.2)
    assert set(_ids(small)) < set(_ids(large))
    # Growing the source keeps every episode already kept (per-item hashing, no shuffle).
    grown = ROWS + [{"episode_id": f"y/{i}", "instruction": f"new {i}"} for i in range(50)]
    assert set(_ids(small)) <= set(_ids(subsample(grown, weight=0.2)))


def test_cap_keeps_the_lowest_hash_and_weight_one_keeps_all():
    assert subsample(ROWS) == ROWS and subsample(ROWS, weight=1.0) == ROWS
    capped = subsample(ROWS, max_episodes=10)
    assert len(capped) == 10 and set(_ids(capped)) <= set(_ids(subsample(ROWS, max_episodes=50)))
    assert subsample(ROWS[:3], max_episodes=10) == ROWS[:3]


def test_docstring_examples():
    result = doctest.testmod(build_module)
    assert result.attempted > 0 and result.failed == 0
