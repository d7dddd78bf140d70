"""Generation engines behind the `Agent`: transformers (the agent's own `generate`, the
default) and vLLM, chosen by the launch recipe's `rollouts.engine` (`tracer1.training.
launch`), the same setting that turns on trl's vLLM rollouts in the GRPO stages.

`VllmBackend` loads a model directory into a `vllm.LLM`: the base model with the LoRA
adapter as a `LoRARequest` (the adapter is the directory itself), or the full model. It
needs a CUDA GPU and the ``vllm`` extra; nothing here imports vLLM until one is built.
Not run on a GPU yet (see docs/kubeflow.md).
"""

from __future__ import annotations

import os
from typing import Any

from tracer1.policy.agent import PLAN_END, Agent
from tracer1.policy.base import GenerationBackend
from tracer1.policy.model import ModelMeta, model_kind, read_meta, resolve_base


def engine_of(engine: str | None) -> str:
    """`engine`, or the launch recipe's rollout engine when None."""
    if engine is not None:
        return engine
    from tracer1.training.launch import current

    return current().rollouts.engine


class VllmBackend:
    """A `GenerationBackend` on vLLM: greedy (temperature 0) or sampled, stopping at
    ``</plan>``; a VLM gets each screenshot as the prompt's image."""

    def __init__(self, model_dir: str | os.PathLike, meta: ModelMeta, processing: Any, *,
                 temperature: float = 1.0, seed: int | None = None,
                 gpu_memory_utilization: float = 0.3, tensor_parallel_size: int = 1):
        from tracer1.training.launch import require_vllm

        require_vllm()
        from vllm import LLM
        from vllm.lora.request import LoRARequest

        self.vision = model_kind(meta.kind).vision
        self.processing = processing
        self.temperature = temperature
        base = resolve_base(model_dir, meta.base_model) if meta.lora else str(model_dir)
        self.llm = LLM(model=base, enable_lora=meta.lora, dtype=meta.dtype, seed=seed or 0,
                       gpu_memory_utilization=gpu_memory_utilization,
                       tensor_parallel_size=tensor_parallel_size,
                       limit_mm_per_prompt={"image": 1} if self.vision else None)
        self.lora = LoRARequest("planner", 1, str(model_dir)) if meta.lora else None

    def _input(self, prompt: str, image: Any | None) -> dict[str, Any]:
        if not self.vision:
            return {"prompt": prompt}
        from tracer1.policy.vlm import conversation, open_image

        picture = None if image is None else open_image(image)
        text = self.processing.apply_chat_template(conversation(prompt, picture),
                                                   add_generation_prompt=True, tokenize=False)
        return {"prompt": text, **({"multi_modal_data": {"image": picture}}
                                   if picture is not None else {})}

    def generate(self, prompts: list[str], images: list[Any | None], *, sample: bool,
                 num: int, max_new_tokens: int, first_action: bool) -> list[str]:
        # `first_action`: no stopping rule at the first line here; the agent closes the
        # plan after it, which gives the same first action at a few more decode steps.
        from vllm import SamplingParams

        params = SamplingParams(n=num, temperature=self.temperature if sample else 0.0,
                                top_p=1.0, max_tokens=max_new_tokens, stop=[PLAN_END],
                                include_stop_str_in_output=True)
        outputs = self.llm.generate([self._input(p, i) for p, i in zip(prompts, images,
                                                                         strict=True)],
                                    params, lora_request=self.lora, use_tqdm=False)
        return [c.text for out in outputs for c in out.outputs]


def vllm_agent(path: str | os.PathLike, **options: Any) -> Agent:
    """An `Agent` whose generation runs on vLLM (the HF weights are never loaded), with the
    launch recipe's colocate settings."""
    from tracer1.training.launch import current

    meta = read_meta(path)
    processing = model_kind(meta.kind).load_processing(path)
    rollouts = current().rollouts
    backend: GenerationBackend = VllmBackend(
        path, meta, processing, temperature=options.get("temperature", 1.0),
        seed=options.get("seed"), gpu_memory_utilization=rollouts.gpu_memory_utilization,
        tensor_parallel_size=rollouts.tensor_parallel_size)
    return Agent(None, processing, meta, backend=backend, **options)


__all__ = ["VllmBackend", "engine_of", "vllm_agent"]
