"""Screenshot-conditioned policies: a tiny Qwen2.5-VL from a config, a base VLM with LoRA,
and how a prompt plus a screenshot become model inputs.

The policy of `policy.kind: vlm` reads the same rendered prompt as the text policy
(`tracer1.policy.prompting`), as one user message whose content is the step's
screenshot followed by that text; its completion is the same `<plan>` block. The
processor's chat template turns the message into ids, and the same template serves
every place a prompt is encoded — trl's SFT collator, trl's GRPO generation, the
`Agent` — so training and inference see one format.

* **Tiny** (`policy.base_model` unset): our byte-level BPE trained on the windows
  (`tracer1.policy.tokenizer`) plus Qwen's vision tokens (`VISION_TOKENS`), a minimal
  chat template (`CHAT_TEMPLATE`: bos, image block, text; the assistant turn ends with
  eos), the Qwen2-VL image processor built with explicit settings, and a randomly
  initialised `Qwen2_5_VLForConditionalGeneration` sized by `PolicyConfig`. Nothing
  comes from a hub.
* **Base** (`policy.base_model`): a Qwen2.5-VL / Qwen2-VL checkpoint (a local dir, or a
  hub id on a cluster) with its own tokenizer and chat template, and a LoRA adapter on
  the *language model's* projections only (`language_targets`; the vision tower stays
  frozen).

Steps without a screenshot (tool use) are encoded text-only: the message holds the
text alone. torch, transformers and PIL are imported inside the functions.

>>> conversation("Task: x", None)
[{'role': 'user', 'content': [{'type': 'text', 'text': 'Task: x'}]}]
>>> language_targets(("q_proj", "v_proj"))
'.*\\\\.language_model\\\\..*\\\\.(q_proj|v_proj)'
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.config import PolicyConfig

if TYPE_CHECKING:
    from PIL.Image import Image

VISION_START, VISION_END = "<|vision_start|>", "<|vision_end|>"
IMAGE_PAD, VIDEO_PAD = "<|image_pad|>", "<|video_pad|>"
VISION_TOKENS = (VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD)
"""Qwen2-VL's vision special tokens, added to the tiny tokenizer (the processor expands
`<|image_pad|>` to one token per merged patch)."""

PATCH_SIZE, MERGE_SIZE, TEMPORAL_PATCH = 14, 2, 2  # Qwen2-VL's vision geometry

# One user turn: bos, then each part (the image block, the text); an assistant turn ends
# with eos, which is what SFT teaches the model to emit after `</plan>`. No role markers:
# the tiny model has no chat to tell apart, and every token spent on them is CPU time.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}" + VISION_START + IMAGE_PAD + VISION_END
    + "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{% endfor %}"
)


# ------------------------------------------------------------------ building and loading


def image_processor(cfg: PolicyConfig) -> Any:
    """Qwen2-VL's image processor (PIL backend: torchvision is not installed) with explicit
    settings: screenshots resized to `cfg.image_min_pixels`..`cfg.image_max_pixels`."""
    from transformers.models.qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(
        size=_size(cfg), patch_size=PATCH_SIZE, merge_size=MERGE_SIZE,
        temporal_patch_size=TEMPORAL_PATCH,
    )


def _size(cfg: PolicyConfig) -> dict[str, int]:
    return {"shortest_edge": cfg.image_min_pixels, "longest_edge": cfg.image_max_pixels}


def train_processor(texts: Iterable[str], cfg: PolicyConfig) -> Any:
    """The tiny VLM's processor: BPE trained on `texts` + the vision tokens, the image
    processor from `cfg`, `CHAT_TEMPLATE`."""
    from tracer1.policy.processor import ScreenProcessor
    from tracer1.policy.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(texts, cfg.vocab_size, bos=False)  # CHAT_TEMPLATE writes it
    tokenizer.add_special_tokens({"additional_special_tokens": list(VISION_TOKENS)})
    return ScreenProcessor(image_processor=image_processor(cfg), tokenizer=tokenizer,
                           chat_template=CHAT_TEMPLATE)


def build_tiny_vlm(cfg: PolicyConfig, processor: Any) -> Any:
    """A freshly initialised tiny `Qwen2_5_VLForConditionalGeneration` sized by `cfg`.

    Text model: `cfg.hidden_size` wide, `cfg.num_layers` deep, tied embeddings (as the
    tiny Llama). Vision tower: `cfg.vision_layers` blocks of `cfg.vision_hidden_size`,
    full attention (windows would need a larger image than a few patches).
    """
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok = processor.tokenizer
    head_dim = cfg.hidden_size // cfg.num_heads
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": cfg.hidden_size,
            "intermediate_size": cfg.intermediate_size,
            "num_hidden_layers": cfg.num_layers,
            "num_attention_heads": cfg.num_heads,
            "num_key_value_heads": cfg.num_heads,
            # Image tokens come on top of the text budget (see PolicyConfig.image_max_pixels).
            "max_position_embeddings": 2 * (cfg.max_prompt_tokens + cfg.max_new_tokens),
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                "mrope_section": mrope_section(head_dim)},
            "tie_word_embeddings": True,
            "bos_token_id": tok.bos_token_id,
            "eos_token_id": tok.eos_token_id,
            "pad_token_id": tok.pad_token_id,
        },
        vision_config={
            "depth": cfg.vision_layers,
            "hidden_size": cfg.vision_hidden_size,
            "intermediate_size": 2 * cfg.vision_hidden_size,
            "num_heads": cfg.vision_heads,
            "out_hidden_size": cfg.hidden_size,
            "patch_size": PATCH_SIZE,
            "spatial_merge_size": MERGE_SIZE,
            "temporal_patch_size": TEMPORAL_PATCH,
            "fullatt_block_indexes": list(range(cfg.vision_layers)),
        },
        image_token_id=tok.convert_tokens_to_ids(IMAGE_PAD),
        video_token_id=tok.convert_tokens_to_ids(VIDEO_PAD),
        vision_start_token_id=tok.convert_tokens_to_ids(VISION_START),
        vision_end_token_id=tok.convert_tokens_to_ids(VISION_END),
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng():  # seed the init without moving the caller's global RNG
        torch.manual_seed(cfg.seed)
        return Qwen2_5_VLForConditionalGeneration(config)


def mrope_section(head_dim: int) -> list[int]:
    """Qwen2.5-VL's split of the rotary half-dimension over (time, height, width), in the
    checkpoints' proportions (16, 24, 24 of 64).

    >>> mrope_section(128), mrope_section(16)
    ([16, 24, 24], [2, 3, 3])
    """
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def new_tiny_vlm(cfg: PolicyConfig, texts: Iterable[str]) -> tuple[Any, Any]:
    """The tiny VLM and its processor (the tokenizer trained on `texts`)."""
    processor = train_processor(texts, cfg)
    return build_tiny_vlm(cfg, processor), processor


def load_processor(path: str | os.PathLike, cfg: PolicyConfig | None = None) -> Any:
    """The `ScreenProcessor` saved at `path` (a model dir or a Qwen2.5-VL checkpoint), padding
    left; with `cfg`, its image size bounds replace the saved ones (a base model's)."""
    from transformers import AutoImageProcessor

    from tracer1.policy.processor import ScreenProcessor
    from tracer1.policy.tokenizer import prepare_tokenizer

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    processor = ScreenProcessor.from_pretrained(str(path))
    if cfg is not None:
        processor.image_processor = AutoImageProcessor.from_pretrained(str(path), size=_size(cfg))
    prepare_tokenizer(processor.tokenizer)
    return processor


def language_targets(names: Sequence[str]) -> str:
    """A peft `target_modules` regex: the named projections of the language model only
    (Qwen's vision blocks also have `gate_proj`/`up_proj`/`down_proj`)."""
    return r".*\.language_model\..*\.(" + "|".join(names) + ")"


# ------------------------------------------------------------------ inputs


def conversation(prompt: str, image: Any | None) -> list[dict[str, Any]]:
    """The one user message of a prompt: the screenshot (when there is one), then the text —
    the layout trl's `prepare_multimodal_messages` gives a dataset row's `images`."""
    content: list[dict[str, Any]] = [{"type": "image", "image": image}] if image is not None else []
    content.append({"type": "text", "text": prompt})
    return [{"role": "user", "content": content}]


def encode(processor: Any, prompts: Sequence[str], images: Sequence[Any | None]) -> Any:
    """Left-padded model inputs (ids, mask, pixel values, image grids) for a batch."""
    conversations = [conversation(p, img) for p, img in zip(prompts, images, strict=True)]
    return processor.apply_chat_template(
        conversations, add_generation_prompt=True, tokenize=True, return_dict=True,
        return_tensors="pt", processor_kwargs={"padding": True},
    )


def generation_kwargs(processor: Any) -> dict[str, Any]:
    """Never sample a vision token: an extra `<|image_pad|>` would not match the image
    features (trl's GRPO suppresses it the same way)."""
    tok = processor.tokenizer
    return {"suppress_tokens": [tok.convert_tokens_to_ids(t) for t in VISION_TOKENS]}


def open_image(source: Any) -> Image:
    """A screenshot as an RGB `PIL.Image`, from PNG bytes, a file, or an image already."""
    from PIL import Image as PILImage

    if isinstance(source, PILImage.Image):
        return source if source.mode == "RGB" else source.convert("RGB")
    with PILImage.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source)) as im:
        return im.convert("RGB")


__all__ = [
    "CHAT_TEMPLATE",
    "VISION_TOKENS",
    "build_tiny_vlm",
    "conversation",
    "encode",
    "generation_kwargs",
    "image_processor",
    "language_targets",
    "load_processor",
    "mrope_section",
    "new_tiny_vlm",
    "open_image",
    "train_processor",
]
