"""The untrained base model as a benchmark policy (``base``): zero-shot, same harness.

`evaluate` scores it when `evaluate.policies` names ``base`` (`config.BASE_POLICY`): the
directory `prepare_base` wrote (`Layout.base`, ``models/base``) loaded
as it is - no adapter, no training - behind the same `Agent`, prompt renderer, horizon
(the candidate's T) and history (K) as the trained policies, so ``sft - base`` in the
report's `paired` section is what supervised warm-starting bought.

With `policy.base_model: null` (the tiny from-scratch test model) there is no pretrained
base: `base_planner` returns no agent and the note `evaluate` puts in the report's
`notes` (a skip, not an error, so one `evaluate.policies` serves both set-ups).

>>> from types import SimpleNamespace
>>> from tracer1.config import ForecastConfig, PolicyConfig
>>> params = SimpleNamespace(policy=PolicyConfig(base_model=None), forecast=ForecastConfig())
>>> agent, note = base_planner(params)
>>> agent is None, note.startswith("base: not scored - policy.base_model is null")
(True, True)
"""

from __future__ import annotations

import os
from typing import Any

from tracer1.config import BASE_POLICY, PolicyConfig

SKIP_NOTE = (f"{BASE_POLICY}: not scored - policy.base_model is null (the tiny from-scratch "
             "model has no pretrained base to run zero-shot)")
DTYPES = ("float32", "bfloat16", "float16")


def base_agent(
    model_dir: str | os.PathLike,
    *,
    horizon: int,
    history: int,
    policy: PolicyConfig,
    screenshot_root: str | os.PathLike | None = None,
    batch_size: int = 16,
    **options: Any,
) -> Any:
    """An `Agent` over the plain Hugging Face directory `model_dir` (`prepare_base`'s output:
    weights and tokenizer, no `tracer1.json`), loaded in `policy.dtype` by the Auto class of
    `policy.kind` (``text``: `AutoModelForCausalLM` + `policy.tokenizer.load_tokenizer`).

    It forecasts `horizon` actions from `history` past ones, within `policy`'s prompt and
    generation budgets; its meta says ``variant="base", stage="base"``. `options` go to
    `Agent` as they are (e.g. the decoding mode the trained policies are evaluated with).
    """
    import torch
    import transformers

    from tracer1.policy.agent import Agent
    from tracer1.policy.model import ModelMeta, model_kind

    if policy.dtype not in DTYPES:
        raise ValueError(f"policy.dtype {policy.dtype!r}: expected one of {', '.join(DTYPES)}")
    kind = model_kind(policy.kind)
    auto = getattr(transformers, kind.auto_class)
    model = auto.from_pretrained(str(model_dir), dtype=getattr(torch, policy.dtype))
    processing = kind.load_processing(model_dir)
    meta = ModelMeta(
        horizon=horizon, history=history, max_prompt_tokens=policy.max_prompt_tokens,
        max_new_tokens=policy.max_new_tokens, variant=BASE_POLICY, stage=BASE_POLICY,
        base_model=None, lora=False, dtype=policy.dtype, kind=policy.kind,
    )
    return Agent(model, processing, meta, batch_size=batch_size,
                 screenshot_root=screenshot_root, **options)


def base_planner(
    params: Any, *, base_dir: str | os.PathLike | None = None,
    screenshot_root: str | os.PathLike | None = None, **options: Any
) -> tuple[Any | None, str | None]:
    """(the ``base`` agent, None), or (None, `SKIP_NOTE`) when `params.policy.base_model` is
    null. The directory is `base_dir` (default: the working directory's `Layout.base`),
    checked to be prepared from this very `policy.base_model` (`policy.source.prepared_policy`:
    a missing or stale one raises and says to run `tracer1 prepare-base`). `options` reach
    `Agent` (as `load_agent`'s do), so the base decodes exactly as the trained policies it is
    compared with."""
    if not params.policy.base_model:
        return None, SKIP_NOTE
    from tracer1.layout import Layout
    from tracer1.policy.source import prepared_policy

    policy = prepared_policy(params.policy, base_dir if base_dir is not None else Layout().base)
    forecast = params.forecast
    agent = base_agent(policy.base_model, horizon=forecast.horizon(forecast.candidate),
                       history=forecast.history, policy=policy,
                       screenshot_root=screenshot_root, **options)
    return agent, None


__all__ = ["DTYPES", "SKIP_NOTE", "base_agent", "base_planner"]
