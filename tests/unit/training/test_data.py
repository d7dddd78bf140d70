"""Window datasets and the pre-tokenized SFT rows: the prompt and target contract."""

from __future__ import annotations

import pytest

from tests.unit.training.fixtures import write_trajectories
from tracer1.actions import format_plan, parse_plan
from tracer1.data.jsonl import read_episodes
from tracer1.data.windows import windows
from tracer1.policy.base import PlanRequest
from tracer1.policy.tokenizer import clip_prompt, train_tokenizer
from tracer1.training.data import dataset_hash, tokenize_sft, window_dataset


@pytest.fixture(scope="module")
def traj(tmp_path_factory):
    return write_trajectories(tmp_path_factory.mktemp("traj"), train_seeds=range(2),
                              val_seeds=range(100, 101))


def test_window_rows_use_the_one_prompt_renderer(traj):
    ds = window_dataset(traj, "train", horizon=3, history=2)
    assert {"prompt", "completion", "reference", "reference_boxes", "episode_id", "step"} <= set(
        ds.column_names)
    episode = read_episodes(traj / "train.jsonl")[0]
    for row, window in zip(ds, windows(episode, horizon=3, history=2), strict=False):
        request = PlanRequest(window.instruction, window.observation, window.history)
        assert row["prompt"] == request.prompt(3, 2)
        assert row["completion"] == row["reference"] == format_plan(window.reference)
        assert len(parse_plan(row["completion"]).actions) == 3


def test_limit(traj):
    assert len(window_dataset(traj, "train", horizon=1, history=2, limit=5)) == 5


def test_sft_rows_are_clipped_prompt_then_plan_then_eos(traj):
    ds = window_dataset(traj, "train", horizon=2, history=2)
    tok = train_tokenizer(list(ds["prompt"]) + list(ds["completion"]), vocab_size=300)
    rows = tokenize_sft(ds, tok, max_prompt_tokens=80)
    for row, src in zip(rows, ds, strict=True):
        prompt_ids = tok(clip_prompt(tok, src["prompt"], 80))["input_ids"]
        ids, mask = row["input_ids"], row["completion_mask"]
        assert len(prompt_ids) <= 80 and ids[: len(prompt_ids)] == prompt_ids
        assert ids[-1] == tok.eos_token_id and row["length"] == len(ids)
        assert mask == [0] * len(prompt_ids) + [1] * (len(ids) - len(prompt_ids))
        target = [i for i, m in zip(ids, mask, strict=True) if m]
        assert tok.decode(target, skip_special_tokens=True) == src["completion"]


def test_dataset_hash_follows_content(traj):
    a = window_dataset(traj, "train", horizon=2, history=2)
    b = window_dataset(traj, "train", horizon=2, history=2)
    assert dataset_hash(a) == dataset_hash(b)
    assert dataset_hash(a) != dataset_hash(a.select(range(len(a) - 1)))
    assert dataset_hash(a) != dataset_hash(window_dataset(traj, "train", horizon=3, history=2))
