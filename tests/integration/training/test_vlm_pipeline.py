"""A screenshot-conditioned policy through every stage on MiniWoB click-button: a tiny
randomly initialised Qwen2.5-VL (built from a config) through SFT, Stage-1 GRPO,
feedback with live screenshots, Stage-2 RFT, and evaluation — offline on the recorded
screenshots and closed-loop on the live screen — saved and reloaded at each step.

The budgets are a few steps: these tests check the wiring (images reach the model in
every stage), not learning.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.integration.miniwob_fixtures import miniwob_suite  # noqa: F401
from tests.unit.training.fixtures import tiny_params, tiny_policy
from tracer1.config import CollectFeedbackConfig, EvaluateConfig
from tracer1.data.build import expert_episode
from tracer1.data.jsonl import write_episodes
from tracer1.layout import Layout
from tracer1.policy import load_agent
from tracer1.policy.model import read_meta
from tracer1.training import run_sft, run_stage1, run_stage2

pytestmark = pytest.mark.integration

FAMILY = "click-button"
HORIZON = 2
GRID = [1, 8, 6]  # a 160x210 screen at <= 112x112 pixels: 8x6 patches of 14 px


def vlm_params(root):
    policy = tiny_policy(kind="vlm", vocab_size=320, hidden_size=64, num_heads=4,
                         intermediate_size=128, max_prompt_tokens=160, max_new_tokens=16)
    return tiny_params(root, policy=policy, sft_steps=3, grpo_steps=1, horizon=HORIZON)


@pytest.fixture(scope="module")
def root(tmp_path_factory, miniwob_suite):  # noqa: F811
    """Expert trajectories with a screenshot per step (what `build_dataset` records)."""
    root = tmp_path_factory.mktemp("vlm")
    traj = root / "traj"
    for split, seeds in (("train", range(4)), ("val", range(10, 12)), ("test", range(20, 21))):
        episodes = [expert_episode(miniwob_suite, miniwob_suite.make_task(FAMILY, seed), split,
                                   max_steps=5, screenshot_root=traj) for seed in seeds]
        write_episodes(traj / f"{split}.jsonl", episodes)
    return root


@pytest.fixture
def vision_calls(monkeypatch):
    """Every call of the vision tower, as its image grids: proof the pixels were used."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as qwen

    calls: list[list[list[int]]] = []
    forward = qwen.Qwen2_5_VisionTransformerPretrainedModel.forward

    def spy(self, hidden_states, grid_thw, **kwargs):
        calls.append(grid_thw.tolist())
        return forward(self, hidden_states, grid_thw, **kwargs)

    monkeypatch.setattr(qwen.Qwen2_5_VisionTransformerPretrainedModel, "forward", spy)
    return calls


@pytest.fixture(scope="module")
def sft(root):
    params = vlm_params(root)
    return params, run_sft(params, "v", layout=Layout(root, "v"), data_dir=root / "traj",
                           probe_windows=2)


def test_sft_trains_the_vlm_on_screenshots(root, sft):
    _, metrics = sft
    assert metrics["steps"] == 3 and len(metrics["curve"]) == 3
    assert metrics["final_loss"] is not None and metrics["probe"]["probe_windows"] == 2.0
    meta = read_meta(root / "models/v/sft")
    assert (meta.kind, meta.stage, meta.horizon, meta.lora) == ("vlm", "sft", HORIZON, False)
    assert (root / "models/v/sft/processor_config.json").is_file()


def test_stage1_grpo_feeds_the_screenshots(root, sft, vision_calls):
    params, _ = sft
    metrics = run_stage1(params, "v", layout=Layout(root, "v"), data_dir=root / "traj")
    assert metrics["steps"] == 1 and "trajectory_reward" in metrics
    # Generation and the policy's log-probs both ran the vision tower on the screens of
    # the step's prompts (2 prompts x 2 generations).
    assert len(vision_calls) >= 2
    assert all(grid == GRID for call in vision_calls for grid in call)
    assert read_meta(root / "models/v/stage1").kind == "vlm"


def test_feedback_stage2_and_evaluation_see_the_screen(root, sft, miniwob_suite,  # noqa: F811
                                                       vision_calls):
    from tracer1.evaluation.harness import evaluate_planners
    from tracer1.feedback import collect_feedback
    from tracer1.rollout import run_episodes

    params, _ = sft
    if not (root / "models/v/stage1").exists():
        run_stage1(params, "v", layout=Layout(root, "v"), data_dir=root / "traj")
    tasks = {"miniwob": [miniwob_suite.make_task(FAMILY, seed) for seed in (30, 31)]}

    # collect_feedback: the planner sees the live screen; Stage 2 gets it from the records.
    planner = load_agent(root / "models/v/stage1", seed=0)
    feedback = root / "feedback"
    collect_feedback(planner, tasks, CollectFeedbackConfig(episode_limit=2), feedback,
                     root / "feedback.json", suites={"miniwob": miniwob_suite})
    lines = (feedback / "feedback.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records and all((feedback / r["observation"]["screenshot"]).is_file()
                           for r in records)
    calls = len(vision_calls)
    # Episodes run in lockstep: one vision pass per step over every live screen.
    assert sum(len(call) for call in vision_calls) >= len(records)

    metrics = run_stage2(params, "v", feedback, layout=Layout(root, "v"))
    assert metrics["steps"] == 1 and len(vision_calls) > calls
    agent = load_agent(root / "models/v/stage2", screenshot_root=root / "traj")
    assert agent.sees_screenshots and agent.meta.stage == "stage2_rft"

    # Closed loop: every request carries the live screen as PNG bytes.
    [trace] = run_episodes(agent, miniwob_suite, tasks["miniwob"][:1], max_steps=1)
    shot = trace.states[0].request.screenshot
    assert shot is not None and shot.startswith(b"\x89PNG")

    # evaluate: closed loop + offline steps on the recorded test screenshots.
    from tracer1.data.jsonl import read_episodes

    heldout = {"miniwob": read_episodes(root / "traj/test.jsonl")}
    assert all(s.observation.screenshot for ep in heldout["miniwob"] for s in ep.steps)
    before = len(vision_calls)
    cfg = dataclasses.replace(EvaluateConfig(), episode_limit=1, bootstrap_samples=20)
    report = evaluate_planners({"stage2": agent}, {"miniwob": tasks["miniwob"][:1]}, heldout,
                               cfg, suites={"miniwob": miniwob_suite})
    section = report["policies"]["stage2"]["suites"]["miniwob"]
    assert section["offline"]["steps"] == sum(len(ep.steps) for ep in heldout["miniwob"])
    assert len(vision_calls) >= before + 2  # the live step and the recorded step(s)


def test_lora_on_a_base_vlm_through_sft_and_grpo(root, tmp_path):
    # The real-checkpoint path offline: a tiny Qwen2.5-VL saved to disk is the base model;
    # only the language model's LoRA adapter trains and is saved.
    from tracer1.policy.model import new_policy

    base = tmp_path / "base"
    params = vlm_params(tmp_path)
    model, processor = new_policy(params.policy, ["<plan>\nclick(x=1, y=2)\n</plan>"] * 4)
    model.save_pretrained(base)
    processor.save_pretrained(base)
    policy = dataclasses.replace(params.policy, base_model=str(base))
    params = dataclasses.replace(params, policy=policy,
                                 sft=dataclasses.replace(params.sft, max_steps=1))
    run_sft(params, "v", layout=Layout(tmp_path, "v"), data_dir=root / "traj", probe_windows=0)
    run_stage1(params, "v", layout=Layout(tmp_path, "v"), data_dir=root / "traj")
    out = tmp_path / "models/v/stage1"
    assert (out / "adapter_config.json").is_file() and not (out / "model.safetensors").exists()
    agent = load_agent(out, screenshot_root=root / "traj")
    assert agent.meta.lora and agent.meta.kind == "vlm" and agent.sees_screenshots
    targets = json.loads((out / "adapter_config.json").read_text())["target_modules"]
    assert "language_model" in targets
