"""The trained planner: a causal LM behind the `Planner` protocol.

`Agent.plan` renders each request with the one prompt renderer, clips it from the
left to the model's prompt budget (the rule SFT and GRPO trained on), generates
in left-padded batches and returns the decoded completions, cut after the first
`</plan>`. Callers parse them with `tracer1.actions.parse_plan`.

A VLM agent (`sees_screenshots`) also passes each request's screenshot: the live PNG
the closed loop captured (`PlanRequest.screenshot`), else the recorded file
`observation.screenshot` under `screenshot_root` (the trajectory directory); a request
with neither goes text-only. Inputs are encoded by the processor's chat template
(`tracer1.policy.vlm.encode`), the one trl's trainers use.

>>> agent = load_agent("models/anticipatory/stage2")  # doctest: +SKIP
>>> agent.plan([PlanRequest("Add 2 and 3.", Observation(text="..."))])  # doctest: +SKIP
[['<plan>\\ntool(name="calculator", args={"expression": "2+3"})\\n...</plan>']]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracer1.policy.base import GenerationBackend, PlanRequest
from tracer1.policy.model import (
    ModelMeta,
    load_model_dir,
    model_kind,
    save_model_dir,
    text_tokenizer,
)
from tracer1.policy.tokenizer import clip_prompt, fit_prompt

PLAN_END = "</plan>"
FIRST_ACTION_TOKENS = 96  # decode budget of `first_action` mode: the longest action line is ~40


class Agent:
    """A planner backed by an HF causal LM or VLM (tiny model, or base + LoRA adapter).

    `tokenizer` is the model dir's tokenizer, or a VLM's processor (`processing`; the
    tokenizer is then its `tokenizer`). `batch_size` bounds how many prompts one
    `generate` call sees (each with `num` samples); `temperature` applies when sampling;
    with `seed` set, the k-th `plan(..., sample=True)` call draws the same samples on
    every run. `screenshot_root`: the directory recorded `observation.screenshot` paths
    are relative to (a VLM reads them from there; None: recorded states go text-only).

    `first_action`: decode each forecast only up to the end of its first action line (the
    block is then closed). The closed loop executes the first action alone, and a causal
    LM writes it before the rest of the plan, so the executed action is the same as with
    the whole forecast decoded (greedy: identical; sampled: the same distribution) at a
    fraction of the decode steps. Training stages never use it: Stage 1 scores all T.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        meta: ModelMeta,
        *,
        batch_size: int = 16,
        temperature: float = 1.0,
        seed: int | None = None,
        screenshot_root: str | os.PathLike | None = None,
        first_action: bool = False,
        backend: GenerationBackend | None = None,
    ):
        # `backend` generates (`tracer1.policy.backends`, e.g. vLLM); by default the agent
        # itself does, with `model.generate` (then `model` is None only with a backend).
        self.model = model.eval() if model is not None else None
        self.backend: GenerationBackend = backend or self
        self.processing = tokenizer
        self.tokenizer = text_tokenizer(tokenizer)
        self.meta = meta
        self.sees_screenshots = model_kind(meta.kind).vision
        self.screenshot_root = Path(screenshot_root) if screenshot_root is not None else None
        self.horizon = meta.horizon
        self.history = meta.history
        self.batch_size = batch_size
        self.temperature = temperature
        self.seed = seed
        self.first_action = first_action
        self._calls = 0

    def prompts(self, requests: Sequence[PlanRequest]) -> list[str]:
        """The exact prompt texts the model sees (rendered, then clipped from the left)."""
        return [self.clip(r.prompt(self.horizon, self.history)) for r in requests]

    def clip(self, prompt: str) -> str:
        """`prompt` clipped from the left to the model's prompt budget (the training rule);
        a text model with a chat template gets it as its user turn (`fit_prompt`). A VLM's
        processor applies its own template when it encodes (`tracer1.policy.vlm.encode`)."""
        if self.sees_screenshots:
            return clip_prompt(self.tokenizer, prompt, self.meta.max_prompt_tokens)
        return fit_prompt(self.tokenizer, prompt, self.meta.max_prompt_tokens)

    def plan(
        self, requests: Sequence[PlanRequest], *, sample: bool = False, num: int = 1
    ) -> list[list[str]]:
        """`num` completions per request; greedy (one decode, repeated) unless `sample`."""
        return self.plan_prompts(
            [r.prompt(self.horizon, self.history) for r in requests],
            images=[self.image_of(r) for r in requests], sample=sample, num=num,
        )

    def image_of(self, request: PlanRequest) -> Any | None:
        """The screenshot this agent shows for `request` (a PIL image), or None: text-only."""
        if not self.sees_screenshots:
            return None
        if request.screenshot is not None:
            source: Any = request.screenshot
        elif request.observation.screenshot and self.screenshot_root is not None:
            source = self.screenshot_root / request.observation.screenshot
        else:
            return None
        from tracer1.policy.vlm import open_image

        return open_image(source)

    def plan_prompts(
        self, prompts: Sequence[str], *, images: Sequence[Any | None] | None = None,
        sample: bool = False, num: int = 1,
    ) -> list[list[str]]:
        """`plan` for already rendered prompts (e.g. a window dataset's `prompt` column);
        `images`, one per prompt (a PIL image, PNG bytes, a file, or None), reach a VLM."""
        import torch

        if num < 1:
            raise ValueError(f"num must be >= 1, got {num}")
        if not prompts:
            return []
        clipped = [self.clip(p) for p in prompts]
        shown = list(images) if images is not None and self.sees_screenshots else []
        shown += [None] * (len(clipped) - len(shown))
        per_call = num if sample else 1
        texts: list[str] = []
        seeded = sample and self.seed is not None
        with torch.random.fork_rng(enabled=seeded):
            if seeded:
                torch.manual_seed(self.seed + self._calls)
            for start in range(0, len(clipped), self.batch_size):
                end = start + self.batch_size
                texts += self._generate(clipped[start:end], shown[start:end], sample, per_call)
        self._calls += 1
        if not sample:
            return [[text] * num for text in texts]
        return [texts[i * num : (i + 1) * num] for i in range(len(prompts))]

    def _encode(self, prompts: list[str], images: list[Any]) -> dict[str, Any]:
        if not self.sees_screenshots:
            return dict(self.tokenizer(prompts, return_tensors="pt", padding=True))
        from tracer1.policy.vlm import encode, open_image

        pictures = [None if img is None else open_image(img) for img in images]
        return dict(encode(self.processing, prompts, pictures))

    def _generate(self, prompts: list[str], images: list[Any], sample: bool,
                  num: int) -> list[str]:
        """The backend's completions, cut after the plan (or closed after the first action)."""
        max_new = self.meta.max_new_tokens
        if self.first_action:
            max_new = min(max_new, FIRST_ACTION_TOKENS)
        decoded = self.backend.generate(prompts, images, sample=sample, num=num,
                                        max_new_tokens=max_new, first_action=self.first_action)
        if self.first_action:
            return [_close_first_action(text) for text in decoded]
        return [_cut_after_plan(text) for text in decoded]

    def generate(self, prompts: list[str], images: list[Any], *, sample: bool, num: int,
                 max_new_tokens: int, first_action: bool) -> list[str]:
        """The transformers `GenerationBackend`: `model.generate` in left-padded batches."""
        import torch

        enc = self._encode(prompts, images)
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "do_sample": sample,
            "num_return_sequences": num,
            "stop_strings": [PLAN_END],
            "tokenizer": self.tokenizer,
            "eos_token_id": self.tokenizer.eos_token_id,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sample:
            kwargs.update(temperature=self.temperature, top_p=1.0, top_k=0)
        if first_action:
            from transformers import StoppingCriteriaList

            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [_FirstActionStop(self.tokenizer, enc["input_ids"].shape[1])])
        if self.sees_screenshots:
            from tracer1.policy.vlm import generation_kwargs

            kwargs.update(generation_kwargs(self.processing))
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        completions = out[:, enc["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(completions, skip_special_tokens=True)

    def save(self, path: str | os.PathLike) -> Path:
        """Write this agent's model directory (atomically)."""
        return save_model_dir(path, self.model, self.processing, self.meta)


class _FirstActionStop:
    """A `StoppingCriteria`: a row is done once its completion holds `<plan>` and a finished
    (newline-ended) non-empty line after it. Only rows whose newest token has a newline
    are decoded, so the check costs little next to a decode step."""

    def __init__(self, tokenizer: Any, prompt_len: int):
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self._newline_ids: dict[int, bool] = {}

    def _has_newline(self, token: int) -> bool:
        if token not in self._newline_ids:
            self._newline_ids[token] = "\n" in self.tokenizer.decode([token])
        return self._newline_ids[token]

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in range(input_ids.shape[0]):
            if not self._has_newline(int(input_ids[row, -1])):
                continue
            text = self.tokenizer.decode(input_ids[row, self.prompt_len:],
                                         skip_special_tokens=True)
            done[row] = _first_action_line(text) is not None
        return done


def _first_action_line(text: str) -> str | None:
    """The first finished non-empty line after `<plan>`, or None."""
    from tracer1._plan_lexer import OPEN

    start = text.find(OPEN)
    if start < 0:
        return None
    for line in text[start + len(OPEN):].split("\n")[:-1]:  # the last piece is unfinished
        if line.strip():
            return line
    return None


def _close_first_action(text: str) -> str:
    """A first-action completion cut after its first action line and closed with `</plan>`;
    a completion that says `</plan>` first, or never finished a line, stays as it is."""
    cut, line = _cut_after_plan(text), _first_action_line(text)
    if cut != text or line is None:
        return cut
    start = text.find("<plan>")
    body = text[start:]
    end = body.find(line) + len(line)
    return text[:start] + body[:end] + "\n" + PLAN_END


def _cut_after_plan(text: str) -> str:
    end = text.find(PLAN_END)
    return text if end < 0 else text[: end + len(PLAN_END)]


def load_agent(path: str | os.PathLike, *, engine: str | None = None, **options: Any) -> Agent:
    """An `Agent` from a model directory; `options`: batch_size, temperature, seed,
    screenshot_root, first_action. `engine` generates: ``transformers`` (the model loaded
    here) or ``vllm`` (`tracer1.policy.backends.VllmBackend`; the weights load into vLLM
    only); default: the launch recipe's `rollouts.engine`, so closed-loop evaluation and
    feedback generate with the engine the GRPO stages train with."""
    from tracer1.policy.backends import engine_of, vllm_agent

    if engine_of(engine) == "vllm":
        return vllm_agent(path, **options)
    model, tokenizer, meta = load_model_dir(path)
    return Agent(model, tokenizer, meta, **options)


__all__ = ["PLAN_END", "Agent", "load_agent"]
