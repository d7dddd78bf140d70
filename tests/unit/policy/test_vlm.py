"""The tiny VLM policy: processor, model, one encoding everywhere, images reaching the model,
the model directory, and a base VLM with LoRA — all built from configs, nothing downloaded."""

from __future__ import annotations

import doctest
import io
import json

import pytest
import torch
from PIL import Image

from tests.unit.training.fixtures import tiny_policy
from tracer1.config import ConfigError
from tracer1.policy import Agent, PlanRequest, load_agent
from tracer1.policy.model import (
    META_FILE,
    ModelMeta,
    load_base,
    load_model_dir,
    new_policy,
    read_meta,
    save_model_dir,
)
from tracer1.policy.vlm import CHAT_TEMPLATE, IMAGE_PAD, conversation, encode
from tracer1.stages import load_params  # with the policy package's own checks
from tracer1.trajectory import Observation

TEXTS = ['<plan>\nclick(x=312, y=540, target="ONE")\n</plan>',
         "Observation:\n[3] button 'ONE' at (312, 540)\nTask: Click on the ONE button.\n"] * 4
PROMPT = "Observation:\n[3] button 'ONE' at (312, 540)\nTask: Click on the ONE button."


def vlm_policy(**overrides):
    return tiny_policy(kind="vlm", vocab_size=300, hidden_size=64, num_heads=4,
                       intermediate_size=128, max_new_tokens=8, **overrides)


def screen(color) -> Image.Image:
    return Image.new("RGB", (160, 210), color)


def png(color) -> bytes:
    out = io.BytesIO()
    screen(color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def tiny():
    model, processor = new_policy(vlm_policy(), TEXTS)
    return model, processor


def meta(**overrides) -> ModelMeta:
    base = {"horizon": 1, "history": 2, "max_prompt_tokens": 96, "max_new_tokens": 8,
            "variant": "v", "stage": "sft", "kind": "vlm"}
    return ModelMeta(**{**base, **overrides})


def logits(model, processor, image):
    enc = encode(processor, [PROMPT], [image])
    with torch.no_grad():
        return model(**enc).logits[:, -1]


def test_tiny_vlm_follows_the_config(tiny):
    model, processor = tiny
    c = model.config
    text = c.get_text_config()
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert (text.hidden_size, text.num_hidden_layers, text.vocab_size) == (64, 2, len(
        processor.tokenizer))
    assert (c.vision_config.depth, c.vision_config.out_hidden_size) == (1, 64)
    assert c.image_token_id == processor.tokenizer.convert_tokens_to_ids(IMAGE_PAD)
    assert processor.chat_template == CHAT_TEMPLATE
    assert sum(p.numel() for p in model.parameters()) < 200_000


def test_a_screenshot_becomes_a_few_image_tokens(tiny):
    _, processor = tiny
    enc = encode(processor, [PROMPT], [screen((255, 0, 0))])
    ids = enc["input_ids"][0].tolist()
    # 160x210 -> at most 112x112 pixels -> 6x8 patches of 14 -> 12 tokens after the 2x2 merge
    assert ids.count(processor.tokenizer.convert_tokens_to_ids(IMAGE_PAD)) == 12
    assert enc["image_grid_thw"].tolist() == [[1, 8, 6]]
    assert ids[0] == processor.tokenizer.bos_token_id and ids.count(ids[0]) == 1


def test_every_encoding_path_gives_the_same_ids(tiny):
    # trl's GRPO generates from apply_chat_template's ids, re-encodes the rendered text with
    # special tokens for its forward pass, and the SFT collator encodes it without them:
    # a bos added twice would shift the image positions (a crash in trl's forward).
    _, processor = tiny
    image = screen((0, 128, 0))
    ids = encode(processor, [PROMPT], [image])["input_ids"][0].tolist()
    text = processor.apply_chat_template([conversation(PROMPT, image)], tokenize=False,
                                         add_generation_prompt=True)[0]
    for special in (True, False):
        again = processor(text=[text], images=[image], add_special_tokens=special)
        assert again["input_ids"][0] == ids


def test_the_image_changes_the_output(tiny):
    model, processor = tiny
    red, blue = logits(model, processor, screen((255, 0, 0))), logits(model, processor,
                                                                       screen((0, 0, 255)))
    assert not torch.allclose(red, blue)
    assert torch.allclose(red, logits(model, processor, screen((255, 0, 0))))


def test_agent_passes_live_recorded_and_no_screenshots(tiny, tmp_path, monkeypatch):
    model, processor = tiny
    (tmp_path / "shots").mkdir()
    screen((0, 0, 255)).save(tmp_path / "shots" / "0.png")
    agent = Agent(model, processor, meta(), screenshot_root=tmp_path)
    assert agent.sees_screenshots
    live = PlanRequest("Click ONE.", Observation(text="x"), screenshot=png((255, 0, 0)))
    recorded = PlanRequest("Click ONE.", Observation(text="x", screenshot="shots/0.png"))
    text_only = PlanRequest("Click ONE.", Observation(text="x"))
    assert agent.image_of(live).getpixel((0, 0)) == (255, 0, 0)
    assert agent.image_of(recorded).getpixel((0, 0)) == (0, 0, 255)
    assert agent.image_of(text_only) is None

    grids = []
    visual = type(model.model.visual)
    forward = visual.forward

    def spy(self, hidden_states, grid_thw, **kwargs):
        grids.append(grid_thw.tolist())
        return forward(self, hidden_states, grid_thw, **kwargs)

    monkeypatch.setattr(visual, "forward", spy)
    out = agent.plan([live, text_only, recorded])  # a mixed batch: two images, one text-only
    assert len(out) == 3 and all(isinstance(t[0], str) for t in out)
    assert grids and grids[0] == [[1, 8, 6], [1, 8, 6]]


def test_model_dir_round_trip_records_the_kind(tiny, tmp_path):
    model, processor = tiny
    out = tmp_path / "m"
    save_model_dir(out, model, processor, meta())
    assert json.loads((out / META_FILE).read_text())["kind"] == "vlm"
    assert (out / "processor_config.json").is_file() and (out / "chat_template.jinja").is_file()
    loaded = load_agent(out)
    assert loaded.sees_screenshots and loaded.meta == meta()
    # The BPE survives the reload under a Qwen model type (digits split, spaces isolated).
    text = 'round(8398.3 / 2722.2, 2) Soquiand "Soquiand"'
    assert loaded.tokenizer(text)["input_ids"] == processor.tokenizer(text)["input_ids"]
    image = screen((10, 200, 30))
    assert torch.allclose(logits(model, processor, image),
                          logits(loaded.model, loaded.processing, image), atol=1e-6)
    request = PlanRequest("Click ONE.", Observation(text="x"), screenshot=png((10, 200, 30)))
    assert loaded.plan([request]) == Agent(model, processor, meta()).plan([request])


def test_lora_on_a_local_base_vlm_adapts_only_the_language_model(tiny, tmp_path):
    # A tiny Qwen2.5-VL saved to disk stands in for a checkpoint: the same code path, offline.
    model, processor = tiny
    base = tmp_path / "base"
    model.save_pretrained(base)
    processor.save_pretrained(base)
    cfg = vlm_policy(base_model=str(base), image_max_pixels=3136)
    peft_model, base_processor = load_base(cfg)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and ".language_model." in n for n in trainable)
    assert base_processor.image_processor.size["longest_edge"] == 3136  # params override it
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.add_(0.05)
    out = tmp_path / "adapter"
    save_model_dir(out, peft_model, base_processor, meta(base_model=str(base), lora=True))
    assert not (out / "model.safetensors").exists()
    loaded, loaded_processor, loaded_meta = load_model_dir(out)
    assert loaded_meta.lora and loaded_meta.kind == "vlm"
    image = screen((90, 90, 90))
    assert torch.allclose(logits(peft_model.eval(), base_processor, image),
                          logits(loaded, loaded_processor, image), atol=1e-6)


def test_meta_without_a_kind_is_text_and_an_unknown_kind_fails(tmp_path):
    data = {"horizon": 1, "history": 0, "max_prompt_tokens": 8, "max_new_tokens": 8}
    assert ModelMeta.from_json(data).kind == "text"
    (tmp_path / META_FILE).write_text(json.dumps({**data, "kind": "audio"}))
    with pytest.raises(ValueError, match="unknown kind 'audio'"):
        read_meta(tmp_path)


def test_params_reject_an_unknown_policy_kind(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("policy: {kind: vlm}\n")
    assert load_params(path).policy.kind == "vlm"
    path.write_text("policy: {kind: video}\n")
    with pytest.raises(ConfigError, match="policy.kind: unknown 'video'"):
        load_params(path)


def test_docstring_examples():
    import tracer1.policy.vlm

    result = doctest.testmod(tracer1.policy.vlm)
    assert result.attempted >= 3 and result.failed == 0
