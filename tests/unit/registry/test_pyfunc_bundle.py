"""A LoRA planner is logged with its base inside (`bundled_model_dir`): the registered
version loads where only the registry's artifacts are. No MLflow here."""

import json

import torch

from tests.unit.training.fixtures import tiny_policy
from tracer1.policy.model import ModelMeta, build_tiny, load_base, load_model_dir, save_model_dir
from tracer1.policy.source import SOURCE_FILE, prepare_base, prepared_policy
from tracer1.policy.tokenizer import train_tokenizer
from tracer1.registry.pyfunc import BUNDLED_BASE, bundled_model_dir

TEXTS = ['<plan>\nanswer(text="5")\n</plan>', "Task: add 2 and 3\n"] * 4
META = dict(horizon=1, history=1, max_prompt_tokens=64, max_new_tokens=8, variant="v",
            stage="stage2_rft")


def test_a_lora_dir_carries_its_prepared_base(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tok = train_tokenizer(TEXTS, vocab_size=300)
    build_tiny(tiny_policy(), tok).save_pretrained(tmp_path / "src")
    tok.save_pretrained(tmp_path / "src")
    policy = tiny_policy(base_model=str(tmp_path / "src"))
    prepare_base(policy, "models/base")
    model, base_tok = load_base(prepared_policy(policy, "models/base"))
    with torch.no_grad():  # a trained-looking adapter: B != 0, so the adapter matters
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.add_(0.5)
    out = tmp_path / "models/v/stage2"
    save_model_dir(out, model, base_tok, ModelMeta(**META, base_model="models/base", lora=True))
    card_before = (out / "tracer1.json").read_text()
    ids = torch.tensor([base_tok("Task: add")["input_ids"]])

    with bundled_model_dir(out) as staged:
        assert staged != out and (staged / BUNDLED_BASE / "model.safetensors").is_file()
        assert (staged / BUNDLED_BASE / SOURCE_FILE).is_file()
        assert json.loads((staged / "tracer1.json").read_text())["base_model"] == BUNDLED_BASE
        # Loads with no models/base in reach: another working directory, the prepared dir gone.
        (tmp_path / "models/base").rename(tmp_path / "gone")
        monkeypatch.chdir(tmp_path / "gone")
        loaded, _, meta = load_model_dir(staged)
        assert meta.lora and meta.base_model == BUNDLED_BASE
        with torch.no_grad():
            assert torch.allclose(loaded(input_ids=ids).logits, model.eval()(input_ids=ids).logits)
        # Bundling an already bundled dir changes nothing.
        with bundled_model_dir(staged) as again:
            assert again == staged
    assert not staged.exists() and (out / "tracer1.json").read_text() == card_before
    assert not list(out.parent.glob(".tracer1-pyfunc-*"))


def test_a_tiny_model_is_logged_as_it_is(tmp_path):
    tok = train_tokenizer(TEXTS, vocab_size=300)
    out = tmp_path / "tiny"
    save_model_dir(out, build_tiny(tiny_policy(), tok), tok, ModelMeta(**META))
    with bundled_model_dir(out) as staged:
        assert staged == out
