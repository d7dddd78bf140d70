"""`ScreenProcessor`: Qwen2.5-VL's processor for screenshots only — no video half.

transformers' `Qwen2_5_VLProcessor` insists on a video processor, and every video
processor needs torchvision, which the pinned stack does not install (nor does the
CUDA image). A screenshot planner never sees video, so this subclass drops that
attribute and keeps the rest: the image processor (PIL backend), the tokenizer, the
chat template, and the `<|image_pad|>` expansion by the image's grid.

Importing this module imports transformers: `tracer1.policy.vlm` imports it lazily.
`ScreenProcessor.from_pretrained(dir)` loads what `save_pretrained` wrote, and also
a Qwen2.5-VL / Qwen2-VL checkpoint's image processor, tokenizer and chat template.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen2_5_VLProcessor
from transformers.processing_utils import ProcessorMixin

IMAGE_TOKEN = "<|image_pad|>"
VIDEO_TOKEN = "<|video_pad|>"


class ScreenProcessor(Qwen2_5_VLProcessor):
    """Image processor + tokenizer (+ chat template) of a Qwen2.5-VL-family policy."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None,
                 chat_template: str | None = None, **kwargs: Any):
        # The attributes `Qwen2_5_VLProcessor.__init__` would set, minus its video processor
        # (ProcessorMixin derives the sub-processors from this signature).
        self.image_token = getattr(tokenizer, "image_token", None) or IMAGE_TOKEN
        self.video_token = getattr(tokenizer, "video_token", None) or VIDEO_TOKEN
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template,
                                **kwargs)


__all__ = ["IMAGE_TOKEN", "VIDEO_TOKEN", "ScreenProcessor"]
