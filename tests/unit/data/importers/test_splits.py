"""The split rule: stable per item, instructions never straddle splits, no split left empty."""

import pytest

from tracer1.data.importers.splits import (
    Placement,
    SplitRule,
    assign_splits,
    hashed_split,
    unit_hash,
)


def test_hash_is_stable_and_salted():
    assert unit_hash("Open mail", "a") == unit_hash("Open mail", "a")
    assert unit_hash("Open mail", "a") != unit_hash("Open mail", "b")


def test_an_item_keeps_its_split_when_the_dataset_grows():
    rule = SplitRule(fill_empty=False)
    small = [Placement(f"task {i}") for i in range(50)]
    grown = small + [Placement(f"task {i}") for i in range(50, 500)]
    assert assign_splits(small, rule).splits == assign_splits(grown, rule).splits[:50]


def test_fractions_are_roughly_respected():
    splits = assign_splits([Placement(f"q{i}") for i in range(2000)], SplitRule()).splits
    assert 0.75 < splits.count("train") / 2000 < 0.85
    assert 0.07 < splits.count("test") / 2000 < 0.13


def test_same_instruction_same_split_case_and_space_folded():
    items = [Placement(f"q{i}") for i in range(100)] + [Placement("  Q7 "), Placement("q7")]
    splits = assign_splits(items, SplitRule()).splits
    assert splits[7] == splits[100] == splits[101]


def test_dataset_split_is_kept_mapped_and_leaks_dropped_from_train():
    items = [Placement("a", "train"), Placement("d", "Training"), Placement("b", "validation"),
             Placement("c", "test_task"), Placement("A ", "test")]
    result = assign_splits(items, SplitRule())
    assert result.splits == (None, "train", "val", "test", "test")
    assert result.dropped_duplicates == 1 and result.moved_to_fill == 0


def test_unknown_dataset_split_is_an_error():
    with pytest.raises(ValueError, match="dataset split 'holdout' maps to no configured split"):
        assign_splits([Placement("a", "holdout")], SplitRule())


def test_empty_splits_are_filled_from_the_largest():
    items = [Placement(f"t{i}", "train") for i in range(10)] + [Placement("x", "test")]
    result = assign_splits(items, SplitRule())
    assert result.splits.count("val") == 1 and result.moved_to_fill == 1
    assert result.splits.count("train") == 9


def test_too_few_groups_leave_a_split_empty():
    result = assign_splits([Placement("a"), Placement("a")], SplitRule())
    assert len(set(result.splits)) == 1  # one group cannot fill three splits


@pytest.mark.parametrize("fractions", [{"train": 0.5, "test": 0.4}, {"train": 1.2, "test": -0.2},
                                       {}])
def test_bad_fractions(fractions):
    with pytest.raises(ValueError, match="split fractions"):
        SplitRule(fractions=fractions)


def test_hashed_split_edges():
    rule = SplitRule(fractions={"train": 0.5, "test": 0.5})
    assert hashed_split(0.0, rule) == "train" and hashed_split(0.5, rule) == "test"
    assert hashed_split(0.9999999, rule) == "test"


def test_held_out_items_always_go_to_test_and_are_never_moved():
    """Rule 0: no reference (GAIA's withheld answers), no training, whatever the rule."""
    items = [Placement(f"answered {i}") for i in range(20)]
    items += [Placement(f"withheld {i}", "validation", held_out=True) for i in range(30)]
    for rule in (SplitRule(), SplitRule(use_dataset_split=False),
                 SplitRule(fractions={"train": 0.5, "val": 0.4, "test": 0.1})):
        splits = assign_splits(items, rule).splits
        assert set(splits[20:]) == {"test"}
        # Test is the largest split, but its held-out groups are not given away, and they
        # do not count as filling it: answered items are scored there too.
        assert "test" in splits[:20] and "val" in splits[:20]


def test_a_held_out_instruction_seen_in_training_stays_only_in_test():
    items = [Placement("Same question", "validation"), Placement("Same question", held_out=True),
             Placement("Other"), Placement("Third"), Placement("Fourth")]
    assignment = assign_splits(items, SplitRule())
    assert assignment.splits[:2] == (None, "test") and assignment.dropped_duplicates == 1


def test_held_out_items_without_a_test_split_are_an_error():
    with pytest.raises(ValueError, match=r"2 episode\(s\) have no reference"):
        assign_splits([Placement("a"), Placement("b", held_out=True),
                       Placement("c", held_out=True)], SplitRule(fractions={"train": 1.0}))
