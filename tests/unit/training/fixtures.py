"""Small, offline building blocks for the policy and training tests.

Trajectories and feedback are produced here by the tool-use suite's scripted
expert, so these tests depend neither on `data/trajectories` (a DVC output) nor
on the `collect_feedback` stage.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tracer1.config import GrpoConfig, LoraSettings, Params, PolicyConfig, SftConfig
from tracer1.data.build import expert_episode
from tracer1.data.jsonl import write_episodes
from tracer1.envs.base import get_suite, restore
from tracer1.io import write_jsonl
from tracer1.trajectory import observation_to_json

FAMILIES = ("table_sum", "kb_arithmetic", "unit_chain")


def tiny_policy(**overrides) -> PolicyConfig:
    """A policy small enough for a test: hidden 32, 2 layers, short prompts."""
    base = PolicyConfig(
        vocab_size=512,
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        intermediate_size=64,
        max_prompt_tokens=96,
        max_new_tokens=64,
        seed=0,
        lora=LoraSettings(r=4, alpha=8, dropout=0.0),
    )
    return dataclasses.replace(base, **overrides)


def episodes(seeds, split: str = "train", families=FAMILIES):
    suite = get_suite("tooluse")
    out = []
    for family in families:
        for seed in seeds:
            task = suite.make_task(family, seed, 1 + seed % 3)
            out.append(expert_episode(suite, task, split, max_steps=30))
    return out


def write_trajectories(directory: Path, train_seeds=range(4), val_seeds=range(100, 102)) -> Path:
    """A tiny `{split}.jsonl` trajectory directory made by the expert."""
    directory.mkdir(parents=True, exist_ok=True)
    write_episodes(directory / "train.jsonl", episodes(train_seeds, "train"))
    write_episodes(directory / "val.jsonl", episodes(val_seeds, "val"))
    return directory


def feedback_records(seeds=range(2), families=FAMILIES) -> list[dict]:
    """Feedback records (the `collect_feedback` contract) along the expert's own episodes.

    The "planner" here is the expert itself: every visited state is recorded with the
    expert's reference action, what it executed there, and the task's answer.
    """
    suite = get_suite("tooluse")
    expert = suite.expert()
    records = []
    for family in families:
        for seed in seeds:
            difficulty = 1 + seed % 3
            task = suite.make_task(family, seed, difficulty)
            episode = expert_episode(suite, task, "train", max_steps=30)
            done_actions = []
            for step in episode.steps:
                env, obs = restore(suite, task, done_actions)
                action = expert.act(task, obs, list(episode.steps[: step.index]))
                _, _, _, info = env.step(action)
                env.close()
                records.append({
                    "suite": "tooluse",
                    "family": family,
                    "seed": seed,
                    "difficulty": difficulty,
                    "task_id": task.task_id,
                    "step": step.index,
                    "instruction": task.instruction,
                    "observation": observation_to_json(obs),
                    "history": [_fmt(a) for a in done_actions],
                    "forecast": "<plan>\n" + _fmt(action) + "\n</plan>",
                    "executed": info,
                    "reference_action": _fmt(action),
                    "reference_box": None,
                    "reference_executed": info,
                    "reference_answer": task.spec["answer"],
                })
                done_actions.append(step.action)
    return records


def write_feedback(directory: Path, records=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if records is None:
        records = feedback_records()
    write_jsonl(directory / "feedback.jsonl", records)
    return directory


def _fmt(action) -> str:
    from tracer1.actions import format_action

    return format_action(action)


def tiny_params(root: Path, *, policy: PolicyConfig | None = None, sft_steps: int = 4,
                grpo_steps: int = 2, horizon: int = 2, save_steps: int = 100) -> Params:
    """Params for a test run, budgets of a few steps (the outputs go under `root` through
    `Layout(root, "v")`; `root` is kept for the callers)."""
    from tracer1.config import ForecastConfig, Stage1GrpoConfig, Stage2RftConfig, VariantConfig

    grpo = GrpoConfig(max_steps=grpo_steps, batch_size=4, num_generations=2, learning_rate=1e-3,
                      save_steps=save_steps)
    return Params(
        forecast=ForecastConfig(history=2, variants={"v": VariantConfig(horizon=horizon)},
                                candidate="v", baseline="v"),
        policy=policy or tiny_policy(),
        sft=SftConfig(max_steps=sft_steps, batch_size=8, learning_rate=1e-2, warmup_steps=0),
        stage1_grpo=Stage1GrpoConfig(**dataclasses.asdict(grpo)),
        stage2_rft=Stage2RftConfig(**dataclasses.asdict(grpo)),
    )
