"""Which split an imported episode goes to: stable, leak-free, every split non-empty.

Rules, in order (all pure, all deterministic):

0. **No reference, no training**: an episode whose source withholds the reference
   (`Placement.held_out`: GAIA's test questions, answer ``?``) always goes to the
   split ``test`` maps to, whatever the other rules say, and is never moved out of it;
   a rule without such a split is an error (it would have to be trained on).
1. **The dataset's own split**, when it ships one and `use_dataset_split` is on:
   its name is mapped through `aliases` (``validation`` -> ``val``,
   ``test_task`` -> ``test`` ...); a name that maps to no configured split is an error.
2. **Otherwise a stable hash** of the *instruction* (case- and space-folded, with
   `salt`) picks the split by the cumulative `fractions`. The instruction, not the
   episode id, is hashed because `validate_dataset` refuses the same instruction in two
   splits (a held-out question seen in training leaks); episodes sharing an
   instruction therefore always land together. Per-item hashing (rather than
   shuffling) keeps an episode's split when the source grows: a test episode never
   drifts into train between dataset versions.
3. **No leaks from the dataset's own splits**: an instruction the dataset puts in
   two splits stays only in the most held-out one (test, then val) and its other
   episodes are dropped (counted), so published test sets stay intact.
4. **No empty split**: a configured split left empty (a dataset without a
   validation split, a tiny import) takes the lowest-hash instruction groups of the
   largest split, its share by `fractions` and at least one, never emptying the donor
   (held-out groups, rule 0, are never given away, nor do they count as filling a split).

>>> rule = SplitRule()
>>> assign_splits([Placement("Open mail", None), Placement("Open maps", None),
...                Placement("Call mum", None)], rule).splits
('train', 'val', 'test')
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DEFAULT_ALIASES: Mapping[str, str] = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
    # Multimodal-Mind2Web's three held-out sets; AndroidControl's test sub-splits.
    "test_task": "test", "test_website": "test", "test_domain": "test",
}


@dataclass(frozen=True)
class SplitRule:
    """How imported episodes are split (the defaults suit a dataset without splits)."""

    fractions: Mapping[str, float] = field(
        default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    """Split name -> share of instruction groups, in order; the shares must sum to 1."""
    use_dataset_split: bool = True
    """Keep the split the dataset assigns (mapped by `aliases`) where it has one."""
    aliases: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    """Dataset split name -> configured split name."""
    salt: str = "tracer1-import-v1"
    """Mixed into the hash: change it to draw a different (still stable) partition."""
    fill_empty: bool = True
    """Move groups into a configured split the rules left empty."""

    def __post_init__(self) -> None:
        if not self.fractions:
            raise ValueError("split fractions: at least one split is required")
        if any(f < 0 for f in self.fractions.values()):
            raise ValueError(f"split fractions must be >= 0, got {dict(self.fractions)}")
        if abs(sum(self.fractions.values()) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must sum to 1, got {dict(self.fractions)}")

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.fractions)


@dataclass(frozen=True)
class Placement:
    """What the split rule needs of one episode: its instruction and its dataset split.

    `held_out`: the episode has no reference to learn from (rule 0).
    """

    instruction: str
    dataset_split: str | None = None
    held_out: bool = False


@dataclass(frozen=True)
class Assignment:
    """The outcome: one split per episode (None: dropped as a cross-split duplicate)."""

    splits: tuple[str | None, ...]
    dropped_duplicates: int = 0
    moved_to_fill: int = 0


_SPACES = re.compile(r"\s+")


def group_key(instruction: str) -> str:
    """Instructions that count as the same task: case- and whitespace-folded."""
    return _SPACES.sub(" ", instruction.strip()).casefold()


def unit_hash(text: str, salt: str) -> float:
    """A stable number in [0, 1) for `text` (sha256, so no PYTHONHASHSEED dependence).

    >>> 0 <= unit_hash("Open mail", "s") < 1, unit_hash("a", "s") == unit_hash("a", "s")
    (True, True)
    """
    digest = hashlib.sha256(f"{salt}\0{text}".encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def hashed_split(u: float, rule: SplitRule) -> str:
    edge = 0.0
    names = rule.splits
    for name in names:
        edge += rule.fractions[name]
        if u < edge:
            return name
    return names[-1]  # rounding at the top edge


def _dataset_split(name: str, rule: SplitRule) -> str:
    mapped = rule.aliases.get(name.casefold(), name.casefold())
    if mapped not in rule.fractions:
        raise ValueError(f"dataset split {name!r} maps to no configured split "
                         f"({', '.join(rule.splits)}); add it to the split aliases")
    return mapped


def _held_out_split(items: Sequence[Placement], rule: SplitRule) -> str | None:
    """Where rule 0 puts held-out items (None: there are none)."""
    count = sum(item.held_out for item in items)
    if not count:
        return None
    target = rule.aliases.get("test", "test")
    if target not in rule.fractions:
        raise ValueError(f"{count} episode(s) have no reference to learn from (withheld "
                         f"answers) and can only go to a test split; the split rule has "
                         f"{', '.join(rule.splits)}: add a test split or leave them out")
    return target


def assign_splits(items: Sequence[Placement], rule: SplitRule) -> Assignment:
    """One split per item by the rules above; raises ValueError for an unmapped dataset split
    or for held-out items without a test split."""
    keys = [group_key(item.instruction) for item in items]
    units = {key: unit_hash(key, rule.salt) for key in keys}
    held_out = _held_out_split(items, rule)
    splits: list[str | None] = []
    for item, key in zip(items, keys, strict=True):
        if item.held_out:
            splits.append(held_out)
        elif rule.use_dataset_split and item.dataset_split is not None:
            splits.append(_dataset_split(item.dataset_split, rule))
        else:
            splits.append(hashed_split(units[key], rule))

    # 3. one instruction, one split: the most held-out split keeps it.
    rank = {name: index for index, name in enumerate(rule.splits)}
    if held_out is not None:  # rule 0 outranks every split
        rank[held_out] = len(rule.splits)
    by_key: dict[str, set[str]] = defaultdict(set)
    for key, split in zip(keys, splits, strict=True):
        by_key[key].add(split)  # type: ignore[arg-type]
    dropped = 0
    for i, key in enumerate(keys):
        owners = by_key[key]
        if len(owners) > 1 and splits[i] != max(owners, key=rank.__getitem__):
            splits[i] = None
            dropped += 1

    pinned = {key for key, item in zip(keys, items, strict=True) if item.held_out}
    moved = _fill_empty(keys, splits, units, rule, pinned) if rule.fill_empty else 0
    return Assignment(tuple(splits), dropped, moved)


def _fill_empty(keys: list[str], splits: list[str | None], units: dict[str, float],
                rule: SplitRule, pinned: set[str]) -> int:
    """Give every empty configured split some groups of the largest split (in place);
    `pinned` groups (rule 0) are neither counted nor given away."""
    moved = 0
    for target in rule.splits:
        groups: dict[str, set[str]] = defaultdict(set)  # split -> its movable group keys
        for key, split in zip(keys, splits, strict=True):
            if split is not None and key not in pinned:
                groups[split].add(key)
        # A split holding only pinned groups has nothing to score either: it is filled too.
        if groups.get(target) or rule.fractions[target] == 0:
            continue
        donors = [s for s in rule.splits if len(groups.get(s, ())) > 1]
        if not donors:
            continue  # too few groups to fill every split; validation will say so
        donor = max(donors, key=lambda s: (len(groups[s]), -rule.splits.index(s)))
        pool = sorted(groups[donor], key=lambda k: (units[k], k))
        share = rule.fractions[target] / (rule.fractions[target] + rule.fractions[donor])
        take = min(len(pool) - 1, max(1, round(share * len(pool))))
        chosen = set(pool[:take])
        for i, key in enumerate(keys):
            if splits[i] == donor and key in chosen:
                splits[i] = target
                moved += 1
    return moved


__all__ = [
    "DEFAULT_ALIASES",
    "Assignment",
    "Placement",
    "SplitRule",
    "assign_splits",
    "group_key",
    "hashed_split",
    "unit_hash",
]
