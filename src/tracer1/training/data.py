"""Training data: expert trajectories → forecast-window datasets, and their tokenized SFT form.

A window row (`window_dataset`) has the columns every stage reads:

* `prompt` — `Window.to_record()`'s prompt (the one renderer; not yet clipped);
* `completion` — the SFT target, `format_plan(reference)` (eos is added by
  `tokenize_sft`, so the model learns to stop right after `</plan>`);
* `reference` — the same plan text, read by `TrajectoryReward`;
* `reference_boxes` — per reference action its target box or None;
* `episode_id`, `step` — where the window comes from;
* `images` (only with `images=True`, for a VLM) — the step's screenshot file, as a
  one-element list, or an empty list for a step without one (tool use).

Prompts are clipped to the model's budget (`clip_prompts`) only once the model's
tokenizer is known, by the stage that trains it. A VLM then gets the rows in trl's
conversational form (`as_messages`): the text and the screenshot are joined into
one user message by the processor's chat template, inside the trainer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.data.jsonl import read_episodes, split_path
from tracer1.data.windows import iter_windows
from tracer1.trajectory import Observation

if TYPE_CHECKING:
    from datasets import Dataset


def window_records(
    directory: str | os.PathLike, split: str, *, horizon: int, history: int,
    limit: int | None = None, images: bool = False,
) -> list[dict[str, Any]]:
    """Rows of the forecast windows of `{directory}/{split}.jsonl` (first `limit` rows);
    with `images`, each row's `images` lists its screenshot file (`screenshot_files`)."""
    rows: list[dict[str, Any]] = []
    for window in iter_windows(
        read_episodes(split_path(directory, split)), horizon=horizon, history=history
    ):
        if limit is not None and len(rows) >= limit:
            break
        record = window.to_record()
        record["completion"] = record["reference"]
        if images:
            record["images"] = screenshot_files(directory, window.observation)
        rows.append(record)
    return rows


def screenshot_files(root: str | os.PathLike, observation: Observation) -> list[str]:
    """`[root/observation.screenshot]` (the recorded path is relative to its trajectory or
    feedback directory), or `[]` for an observation without a screenshot."""
    if not observation.screenshot:
        return []
    return [str(Path(root) / observation.screenshot)]


def window_dataset(
    directory: str | os.PathLike, split: str, *, horizon: int, history: int,
    limit: int | None = None, images: bool = False,
) -> Dataset:
    """`window_records` as a `datasets.Dataset`."""
    from datasets import Dataset

    return Dataset.from_list(window_records(directory, split, horizon=horizon, history=history,
                                            limit=limit, images=images))


def as_messages(dataset: Dataset) -> Dataset:
    """A (clipped) window or feedback dataset in the conversational form trl gives a VLM.

    `prompt` becomes one user message and `completion` (when present) one assistant
    message — trl's `prepare_multimodal_messages` puts the row's `images` in front of the
    user text, the layout `tracer1.policy.vlm.conversation` gives the agent — and the
    `images` files are decoded as PIL images when a row is read. Rows without a
    screenshot keep an empty `images` list: the processor encodes them text-only.
    """
    from datasets import Image, List

    def to_messages(row: dict[str, Any]) -> dict[str, Any]:
        out = {"prompt": [{"role": "user", "content": row["prompt"]}]}
        if "completion" in row:
            out["completion"] = [{"role": "assistant", "content": row["completion"]}]
        return out

    if "images" not in dataset.column_names:
        dataset = dataset.add_column("images", [[] for _ in range(len(dataset))])
    dataset = dataset.map(to_messages)
    return dataset.cast_column("images", List(Image()))


def clip_prompts(dataset: Dataset, tokenizer: Any, max_tokens: int, *,
                 chat: bool = True) -> Dataset:
    """The dataset with every `prompt` clipped from the left to `max_tokens` (`clip_prompt`)
    and, with `chat` and a tokenizer that has a chat template, wrapped in it (`fit_prompt`:
    what `Agent` shows the model). A VLM passes `chat=False`: trl applies its processor's
    template to the conversational rows (`as_messages`)."""
    from tracer1.policy.tokenizer import chat_prompt, clip_prompt, has_chat_template

    prompts = list(dataset["prompt"])
    if chat and has_chat_template(tokenizer):
        overhead = len(tokenizer(chat_prompt(tokenizer, ""), add_special_tokens=False)["input_ids"])
        max_tokens -= overhead
        wrap = functools.partial(chat_prompt, tokenizer)
    else:
        wrap = _same
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]  # one batched pass
    clipped = [
        wrap(p if n <= max_tokens else clip_prompt(tokenizer, p, max_tokens))
        for p, n in zip(prompts, lengths, strict=True)
    ]
    return dataset.remove_columns("prompt").add_column("prompt", clipped)


def _same(text: str) -> str:
    return text


def tokenize_sft(dataset: Dataset, tokenizer: Any, max_prompt_tokens: int) -> Dataset:
    """Pre-tokenized SFT rows: `input_ids` = clipped prompt ids + completion ids + eos.

    trl would otherwise tokenize `prompt + completion` as one string, and the byte-level
    pre-tokenizer merges across that boundary (`actions.<plan>`), so training ids would
    differ from what the model sees at generation. `completion_mask` marks the
    completion tokens: the loss is on those only.
    """
    from datasets import Dataset

    from tracer1.policy.tokenizer import completion_ids, has_chat_template

    input_ids, masks = [], []
    prompts = clip_prompts(dataset, tokenizer, max_prompt_tokens)["prompt"]
    # A chat-wrapped prompt carries its special tokens in the text already.
    encoded = tokenizer(list(prompts), add_special_tokens=not has_chat_template(tokenizer))[
        "input_ids"]
    for prompt_ids, completion in zip(encoded, dataset["completion"], strict=True):
        target = completion_ids(tokenizer, completion)
        input_ids.append(prompt_ids + target)
        masks.append([0] * len(prompt_ids) + [1] * len(target))
    lengths = [len(ids) for ids in input_ids]  # read by the length-grouped sampler
    return Dataset.from_dict(
        {"input_ids": input_ids, "completion_mask": masks, "length": lengths}
    )


def family_of(episode_id: str) -> str:
    """``suite/family`` of an episode id (``tooluse/table_sum/d1/s7`` → ``tooluse/table_sum``)."""
    return "/".join(episode_id.split("/")[:2])


def balanced_rows(dataset: Dataset, n: int, seed: int,
                  suite_weights: Mapping[str, float] | None = None) -> Dataset:
    """`n` rows drawn over the task families of `dataset` (`family_of` its `episode_id`),
    each family's rows shuffled and cycled, so every family gets its share of `n`
    whatever its size: equal shares, or shares in proportion to `suite_weights` (suite →
    the weight of each of its families; 1 for a suite not named).

    >>> from datasets import Dataset
    >>> rows = Dataset.from_dict({"episode_id": ["a/x/1"] * 9 + ["a/y/1"], "step": range(10)})
    >>> sorted(balanced_rows(rows, 4, seed=0)["episode_id"])
    ['a/x/1', 'a/x/1', 'a/y/1', 'a/y/1']
    >>> rows = Dataset.from_dict({"episode_id": ["a/x/1", "b/y/1", "b/z/1"], "step": range(3)})
    >>> sorted(balanced_rows(rows, 7, seed=0, suite_weights={"b": 3})["episode_id"])
    ['a/x/1', 'b/y/1', 'b/y/1', 'b/y/1', 'b/z/1', 'b/z/1', 'b/z/1']
    """
    import random

    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for index, episode_id in enumerate(dataset["episode_id"]):
        groups.setdefault(family_of(episode_id), []).append(index)
    order = sorted(groups)
    for name in order:
        rng.shuffle(groups[name])
    counts = _shares(order, n, suite_weights or {})
    picked = []  # round by round, families in order: equal shares interleave the families
    for step in range(max(counts.values(), default=0)):
        picked += [groups[name][step % len(groups[name])] for name in order
                   if counts[name] > step]
    rng.shuffle(picked)
    return dataset.select(picked)


def _shares(families: Sequence[str], n: int, suite_weights: Mapping[str, float]) -> dict[str, int]:
    """`n` split over `families` (``suite/family``) by their suite's weight, largest
    remainders first (ties in `families` order), so the counts sum to `n`."""
    weights = [float(suite_weights.get(name.split("/")[0], 1.0)) for name in families]
    total = sum(weights)
    if not families or total <= 0:
        return dict.fromkeys(families, 0)
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(families)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return dict(zip(families, counts, strict=True))


def dataset_hash(dataset: Dataset) -> str:
    """A content hash of a dataset's rows (column order independent).

    `Dataset._fingerprint` is random for in-memory datasets, so it cannot tell
    whether a checkpoint was trained on the same data.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(sorted(dataset.column_names)).encode())
    for row in dataset:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


__all__ = [
    "as_messages",
    "balanced_rows",
    "clip_prompts",
    "dataset_hash",
    "family_of",
    "tokenize_sft",
    "screenshot_files",
    "window_dataset",
    "window_records",
]
