"""The tiny model, the base + LoRA path and the model directory contract."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from tests.unit.training.fixtures import tiny_policy
from tracer1.policy.model import (
    META_FILE,
    ModelMeta,
    build_tiny,
    load_base,
    load_model_dir,
    read_meta,
    save_model_dir,
)
from tracer1.policy.tokenizer import train_tokenizer

TEXTS = ['<plan>\ntool(name="search", args={"query": "Soquiand"})\n</plan>', "Task: x\n"] * 4


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(TEXTS, vocab_size=300)


def meta(**overrides) -> ModelMeta:
    base = {"horizon": 2, "history": 2, "max_prompt_tokens": 96, "max_new_tokens": 48,
            "variant": "v", "stage": "sft"}
    return ModelMeta(**{**base, **overrides})


def logits(model, tok):
    ids = torch.tensor([tok("Task: x")["input_ids"]])
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_build_tiny_follows_the_config_and_the_seed(tok):
    cfg = tiny_policy()
    model = build_tiny(cfg, tok)
    c = model.config
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads) == (32, 2, 2)
    assert c.vocab_size == len(tok)
    assert c.max_position_embeddings >= cfg.max_prompt_tokens + cfg.max_new_tokens
    assert model.generation_config.eos_token_id == tok.eos_token_id
    same = build_tiny(cfg, tok)
    other = build_tiny(tiny_policy(seed=1), tok)
    assert torch.equal(logits(model, tok), logits(same, tok))
    assert not torch.equal(logits(model, tok), logits(other, tok))


def test_model_dir_round_trip(tok, tmp_path):
    model = build_tiny(tiny_policy(), tok)
    out = tmp_path / "models" / "sft"
    save_model_dir(out, model, tok, meta())
    assert json.loads((out / META_FILE).read_text()) == {
        "horizon": 2, "history": 2, "max_prompt_tokens": 96, "max_new_tokens": 48,
        "variant": "v", "stage": "sft", "base_model": None, "lora": False,
        "dtype": "float32", "kind": "text", "format": 1,
    }
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert [p.name for p in out.parent.iterdir()] == ["sft"]  # atomic: no temp dirs left
    loaded, loaded_tok, loaded_meta = load_model_dir(out)
    assert loaded_meta == meta()
    assert torch.equal(logits(model, tok), logits(loaded, loaded_tok))


def test_read_meta_of_a_plain_directory_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a tracer1 model directory"):
        read_meta(tmp_path)


def test_lora_on_a_local_base_model(tok, tmp_path):
    # A tiny Llama saved to disk stands in for a hub model: the same code path, offline.
    base_dir = tmp_path / "base"
    build_tiny(tiny_policy(), tok).save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    cfg = tiny_policy(base_model=str(base_dir))
    model, base_tok = load_base(cfg)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    with torch.no_grad():  # a non-trivial adapter, so the round trip below means something
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.add_(0.05)
    out = tmp_path / "adapter"
    save_model_dir(out, model, base_tok, meta(base_model=str(base_dir), lora=True))
    assert (out / "adapter_config.json").is_file()
    assert not (out / "model.safetensors").exists()  # only the adapter, not the base
    loaded, _, loaded_meta = load_model_dir(out)
    assert loaded_meta.lora and loaded_meta.base_model == str(base_dir)
    assert torch.allclose(logits(model.eval(), tok), logits(loaded, tok), atol=1e-6)
    with pytest.raises(ValueError, match="LoRA"):
        save_model_dir(tmp_path / "bad", model, base_tok, meta())


def test_lora_top_layers_adapts_only_the_top_decoder_layers(tok, tmp_path):
    # Only the top layers get adapters, so backpropagation stops there (a cheaper step).
    base_dir = tmp_path / "base"
    build_tiny(tiny_policy(num_layers=3), tok).save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    cfg = tiny_policy(base_model=str(base_dir))
    cfg = replace(cfg, lora=replace(cfg.lora, top_layers=1))
    model, _ = load_base(cfg)
    layers = {n.split(".layers.")[1].split(".")[0]
              for n, p in model.named_parameters() if p.requires_grad}
    assert layers == {"2"}
    with pytest.raises(ValueError, match="top_layers must lie in 1..3"):
        load_base(replace(cfg, lora=replace(cfg.lora, top_layers=4)))
