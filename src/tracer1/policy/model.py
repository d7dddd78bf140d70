"""The planner model and its directory: the embedded tiny model, or a base model with LoRA.

Two kinds (`MODEL_KINDS`, chosen by `policy.kind`): `text`, a causal LM over the
rendered prompt (the tiny Llama, or a base LM), and `vlm`, a Qwen2.5-VL-family model
that also sees the step's screenshot (`tracer1.policy.vlm`). Everything that differs
between them is one `ModelKind` record; training and inference code ask it, never
the kind's name.

A *model directory* is the one artefact every stage hands to the next (SFT →
Stage 1 → Stage 2 → evaluation → registry). It is an HF `save_pretrained`
directory plus `tracer1.json`:

* tiny model: the full weights (`config.json`, `model.safetensors`,
  `generation_config.json`);
* base model + LoRA: only the adapter (`adapter_config.json`,
  `adapter_model.safetensors`); `tracer1.json`'s `base_model` names the base to
  load it on: the `prepare_base` directory (``models/base``, relative to the working
  directory, where DVC and the Kubeflow components lay it out), a path relative to the
  model dir itself (a registered version carries its base as ``base/``,
  `tracer1.registry.pyfunc`), any local path, or a hub id (`resolve_base`);
* both: the tokenizer files (a VLM: its processor's — tokenizer, image processor, chat
  template), and `tracer1.json` = ``{"horizon", "history", "max_prompt_tokens",
  "max_new_tokens", "variant", "stage", "base_model", "lora", "dtype", "kind", "format"}``
  (a directory without `kind` is `text`: those written before VLMs).

Directories are written through `tracer1.io.atomic_dir`: a reader never sees a
half-written model, and a crash keeps the previous one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.config import PolicyConfig
from tracer1.io import atomic_dir

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

META_FILE = "tracer1.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelMeta:
    """What a model directory says about itself (`tracer1.json`)."""

    horizon: int
    """T: actions per forecast the model was trained to emit."""
    history: int
    """K: past actions shown in its prompts."""
    max_prompt_tokens: int
    max_new_tokens: int
    variant: str
    stage: str
    """The stage that wrote the directory: sft, stage1_grpo, stage2_rft."""
    base_model: str | None = None
    """The base model the LoRA adapter applies to; None for the tiny model (full weights)."""
    lora: bool = False
    dtype: str = "float32"
    kind: str = "text"
    """`MODEL_KINDS` key: `text` or `vlm`."""
    format: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = META_FILE) -> ModelMeta:
        names = {f.name for f in fields(cls)}
        missing = {"horizon", "history", "max_prompt_tokens", "max_new_tokens"} - set(data)
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
        if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError(f"{where}: unsupported format {data.get('format')!r}")
        known = {k: v for k, v in data.items() if k in names}
        known.setdefault("variant", "")
        known.setdefault("stage", "")
        if known.get("kind", "text") not in MODEL_KINDS:
            raise ValueError(f"{where}: unknown kind {known['kind']!r} "
                             f"(known: {', '.join(sorted(MODEL_KINDS))})")
        return cls(**known)

    def with_stage(self, stage: str) -> ModelMeta:
        return replace(self, stage=stage)


def _torch_dtype(name: str) -> Any:
    import torch

    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    try:
        return dtypes[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r} (float32 / bfloat16 / float16)") from None


def build_tiny(cfg: PolicyConfig, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A freshly initialised tiny `LlamaForCausalLM` sized by `cfg`, seeded by `cfg.seed`.

    Llama rather than Qwen2: `AutoTokenizer` would swap a Qwen2 model's tokenizer
    class on reload. Input and output embeddings are tied (half the embedding
    parameters, which dominate at this size).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_prompt_tokens + cfg.max_new_tokens,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    # fork_rng: seed the init without moving the caller's global RNG.
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        model = LlamaForCausalLM(config)
    _align_special_tokens(model, tokenizer)
    return model


def load_base(cfg: PolicyConfig) -> tuple[PreTrainedModel, Any]:
    """`cfg.base_model` of `cfg.kind` with a fresh LoRA adapter from `cfg.lora`; returns it
    with its tokenizer (a VLM: its processor).

    `cfg.base_model` must be loadable by `from_pretrained` as it is: the pipeline passes
    the `prepare_base` directory here (`tracer1.policy.source.prepared_policy`); a
    directory or hub id works directly, a GGUF source only once prepared.

    Only the adapter trains; the same training code then handles the tiny model and
    this one, because both arrive as ready-made `nn.Module`s.
    """
    from peft import LoraConfig, get_peft_model

    if not cfg.base_model:
        raise ValueError("policy.base_model is not set")
    _check_loadable_base(cfg.base_model)
    kind = model_kind(cfg.kind)
    processing = kind.load_base_processing(cfg)
    base = _auto_class(kind).from_pretrained(cfg.base_model, dtype=_torch_dtype(cfg.dtype))
    _align_special_tokens(base, text_tokenizer(processing))
    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=kind.lora_targets(cfg.lora.target_modules),
        task_type="CAUSAL_LM",
        **_layer_selection(base, cfg.lora.top_layers, kind),
    )
    return get_peft_model(base, lora), processing


def _layer_selection(base, top_layers: int, kind: ModelKind) -> dict[str, Any]:
    """peft's `layers_to_transform` for `policy.lora.top_layers` (empty: every layer)."""
    if not top_layers:
        return {}
    if kind.vision:
        raise ValueError("policy.lora.top_layers applies to text models only (kind: text)")
    count = int(base.config.num_hidden_layers)
    if not 0 < top_layers <= count:
        raise ValueError(f"policy.lora.top_layers must lie in 1..{count} for this base "
                         f"model, got {top_layers}")
    return {"layers_to_transform": list(range(count - top_layers, count)),
            "layers_pattern": "layers"}


def _check_loadable_base(base_model: str) -> None:
    """A GGUF / `DIST:PATH` source, or a prepared directory without weights (the tiny
    model's), is refused with what to do instead of a transformers traceback."""
    from tracer1.policy.source import SOURCE_FILE, parse_source

    spec = parse_source(base_model)
    if spec.form == "distribution" or spec.is_gguf:
        raise ValueError(f"policy.base_model {base_model!r} is a GGUF / distribution source: "
                         "convert it once with `tracer1 prepare-base` and load that "
                         "directory (models/base)")
    path = Path(base_model)
    if path.is_dir() and (path / SOURCE_FILE).is_file() and not (path / "config.json").exists():
        raise ValueError(f"{base_model}: prepared for no base model (policy.base_model: null "
                         "when `prepare_base` ran): run `tracer1 prepare-base` again")


def new_policy(cfg: PolicyConfig, texts: Any) -> tuple[PreTrainedModel, Any]:
    """The starting point of SFT: a base model with LoRA, or the tiny model of `cfg.kind` +
    a tokenizer (or processor) trained on `texts` (strings, read only for the tiny model)."""
    if cfg.base_model:
        return load_base(cfg)
    return model_kind(cfg.kind).new_tiny(cfg, texts)


def text_tokenizer(processing: Any) -> PreTrainedTokenizerBase:
    """The tokenizer of a tokenizer (itself) or of a processor (its `tokenizer`)."""
    return getattr(processing, "tokenizer", None) or processing


def _align_special_tokens(model: Any, tokenizer: Any) -> None:
    """Generation stops at the tokenizer's eos and pads with its pad (both configs agree;
    a VLM keeps them in its text config)."""
    for config in (model.config.get_text_config(), model.generation_config):
        if config is None:
            continue
        config.eos_token_id = tokenizer.eos_token_id
        config.pad_token_id = tokenizer.pad_token_id
        if tokenizer.bos_token_id is not None:
            config.bos_token_id = tokenizer.bos_token_id


def _new_tiny_text(cfg: PolicyConfig, texts: Iterable[str]) -> tuple[Any, Any]:
    from tracer1.policy.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(texts, cfg.vocab_size)
    return build_tiny(cfg, tokenizer), tokenizer


def _load_tokenizer(path: str | os.PathLike) -> Any:
    from tracer1.policy.tokenizer import load_tokenizer

    return load_tokenizer(path)


def _load_vlm_processor(path: str | os.PathLike, cfg: PolicyConfig | None = None) -> Any:
    from tracer1.policy.vlm import load_processor

    return load_processor(path, cfg)


def _vlm_targets(names: Sequence[str]) -> str:
    from tracer1.policy.vlm import language_targets

    return language_targets(names)


def _new_tiny_vlm(cfg: PolicyConfig, texts: Iterable[str]) -> tuple[Any, Any]:
    from tracer1.policy.vlm import new_tiny_vlm

    return new_tiny_vlm(cfg, texts)


@dataclass(frozen=True)
class ModelKind:
    """What differs between policy kinds: building, loading, adapting, and whether the policy
    sees screenshots. A new kind is one `MODEL_KINDS` entry."""

    auto_class: str
    """The transformers Auto class that loads the weights (of a model dir or a base)."""
    vision: bool
    """Sees the step's screenshot: datasets carry `images`, prompts are chat messages."""
    new_tiny: Callable[[PolicyConfig, Iterable[str]], tuple[Any, Any]]
    """(cfg, tokenizer training texts) -> the tiny model and its tokenizer / processor."""
    load_processing: Callable[[str | os.PathLike], Any]
    """A model dir's tokenizer / processor."""
    load_base_processing: Callable[[PolicyConfig], Any]
    """`cfg.base_model`'s tokenizer / processor, with `cfg`'s settings."""
    lora_targets: Callable[[Sequence[str]], list[str] | str]
    """`policy.lora.target_modules` -> peft's `target_modules` for this kind."""


MODEL_KINDS: dict[str, ModelKind] = {
    "text": ModelKind(
        auto_class="AutoModelForCausalLM",
        vision=False,
        new_tiny=_new_tiny_text,
        load_processing=_load_tokenizer,
        load_base_processing=lambda cfg: _load_tokenizer(cfg.base_model),
        lora_targets=list,
    ),
    "vlm": ModelKind(
        auto_class="AutoModelForImageTextToText",
        vision=True,
        new_tiny=_new_tiny_vlm,
        load_processing=_load_vlm_processor,
        load_base_processing=lambda cfg: _load_vlm_processor(cfg.base_model, cfg),
        lora_targets=_vlm_targets,
    ),
}


def model_kind(name: str) -> ModelKind:
    try:
        return MODEL_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown policy kind {name!r} "
                         f"(known: {', '.join(sorted(MODEL_KINDS))})") from None


def _auto_class(kind: ModelKind) -> Any:
    import transformers

    return getattr(transformers, kind.auto_class)


def is_lora(model: Any) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def save_model_dir(
    path: str | os.PathLike,
    model: PreTrainedModel,
    tokenizer: Any,
    meta: ModelMeta,
    *,
    state_dict: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory atomically (model or adapter, tokenizer or processor,
    `tracer1.json`). `state_dict`: the weights to save instead of the model's own (a
    sharded model's, gathered on rank 0)."""
    lora = is_lora(model)
    if lora != meta.lora:
        raise ValueError(f"meta.lora={meta.lora} but the model is {'' if lora else 'not '}LoRA")
    weights = {} if state_dict is None else {"state_dict": state_dict}
    with atomic_dir(path) as tmp:
        if lora:
            # Only the trained adapter: trl adds a frozen "ref" copy for the KL term.
            model.save_pretrained(tmp, selected_adapters=["default"], **weights)
        else:
            model.save_pretrained(tmp, **weights)
        tokenizer.save_pretrained(tmp)
        (tmp / META_FILE).write_text(json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n")
    return Path(path)


def read_meta(path: str | os.PathLike) -> ModelMeta:
    """`tracer1.json` of a model directory."""
    file = Path(path) / META_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not a tracer1 model directory (no {META_FILE})") from None
    return ModelMeta.from_json(data, str(file))


def load_model_dir(
    path: str | os.PathLike, *, trainable: bool = False
) -> tuple[PreTrainedModel, Any, ModelMeta]:
    """Model (tiny, or base + adapter), tokenizer (a VLM: processor) and meta of a model dir.

    `trainable=True` loads a LoRA adapter with gradients on (to continue training it);
    the tiny model is always a plain trainable module. The model is in eval mode.
    """
    meta = read_meta(path)
    kind = model_kind(meta.kind)
    processing = kind.load_processing(path)
    auto = _auto_class(kind)
    if meta.lora:
        from peft import PeftModel

        if not meta.base_model:
            raise ValueError(f"{path}: a LoRA model directory needs base_model in {META_FILE}")
        base = auto.from_pretrained(resolve_base(path, meta.base_model),
                                    dtype=_torch_dtype(meta.dtype))
        model = PeftModel.from_pretrained(base, str(path), is_trainable=trainable)
    else:
        model = auto.from_pretrained(str(path), dtype=_torch_dtype(meta.dtype))
    _align_special_tokens(model, text_tokenizer(processing))
    model.eval()
    return model, processing, meta


def resolve_base(model_dir: str | os.PathLike, base_model: str) -> str:
    """Where a LoRA model directory's `base_model` loads from: a relative path that exists
    inside the model dir (a registered version's bundled ``base/``), else a local path as
    written (relative to the working directory: ``models/base``), else the text itself
    (a hub id, for transformers to fetch)."""
    candidate = Path(base_model).expanduser()
    if not candidate.is_absolute() and (Path(model_dir) / candidate).is_dir():
        return str(Path(model_dir) / candidate)
    return str(candidate) if candidate.exists() else base_model


def dir_fingerprint(path: str | os.PathLike) -> str:
    """A content hash of every file in a directory (names and bytes), for cache keys."""
    import hashlib

    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0")
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


__all__ = [
    "META_FILE",
    "MODEL_KINDS",
    "ModelKind",
    "ModelMeta",
    "build_tiny",
    "dir_fingerprint",
    "is_lora",
    "load_base",
    "load_model_dir",
    "model_kind",
    "new_policy",
    "read_meta",
    "resolve_base",
    "save_model_dir",
    "text_tokenizer",
]
