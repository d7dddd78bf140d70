"""The ablations as data: arms (name → `-S` overrides), budget presets, seeds and tables.

An arm is one training configuration; `run.py` runs every arm once per training seed
with ``dvc exp run --temp -S ++key=value ... evaluate``, so `params.yaml` stays as it is.
Overrides use DVC's Hydra syntax: ``++key=value`` sets a key, adding it where params.yaml
leaves it to its config.py default; ``~key`` deletes (`DELETE`).

Every arm trains ONE planner variant (`anticipatory`, at the arm's horizon): the
reactive variant is deleted and `forecast.baseline` points at the candidate, so no
arm pays for a second training chain. The reactive baseline is the arm `T1` (the
same stages and budget at T = 1) — exactly what the default pipeline trains as
`reactive`. Arms that differ only in Stage-1 settings (`T5`, `gamma*`, `rep0`) have
equal `forecast`/`policy`/`sft` params, so DVC's run-cache restores one SFT per seed
for all of them instead of training it four times.

All arms of a budget share `build_dataset` and `evaluate` settings: every arm is
scored on the same held-out test tasks (task seeds never change with the training
seed).

>>> overrides("micro", "T5", 1)["sft.seed"]
1
>>> overrides("small", "T20", 0)["forecast.variants.anticipatory.horizon"]
20
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DELETE = object()
"""An override value meaning ``~key``: delete the key from params.yaml."""

CANDIDATE = "anticipatory"
HORIZON_KEY = f"forecast.variants.{CANDIDATE}.horizon"

SEED_KEYS = ("policy.seed", "sft.seed", "stage1_grpo.seed", "stage2_rft.seed", "evaluate.seed")
"""The training seeds (model init, data order, sampling) and the bootstrap seed; never the
task seeds (`build_dataset.seeds`), so every run is scored on the same test tasks."""

RL_SEED_KEYS = ("stage1_grpo.seed", "stage2_rft.seed", "evaluate.seed")
"""The seeds of the RL stages only: every seed starts from the same SFT warm start (one per
horizon), which DVC's run-cache trains once."""

ONE_VARIANT: dict[str, Any] = {
    "forecast.variants.reactive": DELETE,
    "forecast.baseline": CANDIDATE,
}
"""Every arm trains the candidate alone (the reactive baseline is arm `T1`)."""


@dataclass(frozen=True)
class Arm:
    """One training configuration of the ablation."""

    name: str
    overrides: Mapping[str, Any]
    """Dotted params key → value (`DELETE` removes the key), on top of the budget's."""
    doc: str = ""
    policies: tuple[str, ...] = ("stage2",)
    """The checkpoints the tables read (`evaluate.policies`): only those are scored."""


def _horizon(t: int, max_new_tokens: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {HORIZON_KEY: t}
    if max_new_tokens is not None:
        # The longest expert plan must fit the generation budget. At ~2.4 characters a
        # token (the longest T=5 tool-use plan: 446 characters, 185 tokens) the longest
        # tool-use plans are ~205 tokens at T=10 and ~235 at T=20 (far positions are
        # done()); a MiniWoB click is ~40 characters, so 20 book-flight steps ~340.
        out["policy.max_new_tokens"] = max_new_tokens
    return out


ARMS: dict[str, Arm] = {
    arm.name: arm
    for arm in (
        Arm("T1", _horizon(1), "reactive: forecast 1 action (the default `reactive` variant)"),
        Arm("T3", _horizon(3), "forecast horizon 3"),
        Arm("T5", _horizon(5), "the default candidate: T=5, gamma 0.9, lambda_rep 0.5",
            ("sft", "stage1", "stage2")),
        Arm("T10", _horizon(10, 256), "forecast horizon 10 (longer generation budget)"),
        Arm("T20", _horizon(20, 384), "forecast horizon 20 (longer generation budget)"),
        Arm("gamma0.5", {**_horizon(5), "stage1_grpo.gamma": 0.5}, "Stage-1 discount 0.5",
            ("stage1", "stage2")),
        Arm("gamma1", {**_horizon(5), "stage1_grpo.gamma": 1.0}, "Stage-1 discount 1 (none)",
            ("stage1", "stage2")),
        Arm("rep0", {**_horizon(5), "stage1_grpo.lambda_rep": 0.0}, "no repetition penalty",
            ("stage1", "stage2")),
    )
}


@dataclass(frozen=True)
class Row:
    """One line of a results table: a policy of an arm's eval report."""

    label: str
    arm: str
    policy: str
    """A policy of the report: `sft`, `stage1`, `stage2` (of the arm's one variant)."""


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    rows: tuple[Row, ...]
    note: str = ""


TABLES: tuple[Table, ...] = (
    Table("stages", "Training stages (paper: removing Stage 2 costs ~6 points)", (
        Row("reactive T=1 (Stage 1 + 2)", "T1", "stage2"),
        Row("SFT only (T=5)", "T5", "sft"),
        Row("Stage 1 only (T=5)", "T5", "stage1"),
        Row("Stage 1 + Stage 2 (T=5)", "T5", "stage2"),
    )),
    Table("horizon", "Forecast horizon T, final (Stage 1 + 2) policy (paper: best at 5-10)",
          tuple(Row(f"T={t}", f"T{t}", "stage2") for t in (1, 3, 5, 10, 20))),
    Table("gamma", "Stage-1 discount gamma (paper: gamma = 1 over-fits uncertain far steps)",
          tuple(Row(f"gamma={g} · {label}", arm, policy)
                for g, arm in (("0.5", "gamma0.5"), ("0.9", "T5"), ("1.0", "gamma1"))
                for label, policy in (("Stage 1", "stage1"), ("Stage 1+2", "stage2")))),
    Table("repetition", "Repetition penalty lambda_rep (paper: 0 invites loops)",
          tuple(Row(f"lambda_rep={lam} · {label}", arm, policy)
                for lam, arm in (("0", "rep0"), ("0.5", "T5"))
                for label, policy in (("Stage 1", "stage1"), ("Stage 1+2", "stage2")))),
)


# ------------------------------------------------------------------ budgets


_TOOLUSE_MIX: dict[str, Any] = {
    # Tool use alone (all five families): 100 train seeds (500 expert episodes), 6 held-out
    # test tasks per family, 2 of them long (difficulty 3: 4-6 calls). No browser: a
    # MiniWoB closed loop costs a planner call per page step (book-flight ~19), which does
    # not fit 24 runs into about an hour on 2 cores; the `cpu` budget keeps the GUI pages.
    "suites.tooluse.families": [],   # every family
    "suites.tooluse.difficulties": [1, 2, 3],
    "suites.miniwob": DELETE,
    "build_dataset.seeds.train": {"start": 0, "stop": 100},
    "build_dataset.seeds.val": {"start": 200, "stop": 205},
    "build_dataset.seeds.test": {"start": 230, "stop": 240},
    "collect_feedback.episodes_per_family": 2,
    "evaluate.episodes_per_family": 6,
    "evaluate.bootstrap_samples": 200,
}
"""The data and evaluation mix of the `small` budget (the default 2-layer 64-wide model)."""

_GUI_MIX: dict[str, Any] = {
    # The tool-use mix plus two MiniWoB pages: click-button (1 step) and the long-horizon
    # book-flight (~19 steps), 5 episodes per page and split, all 10 test pages in flight.
    **{k: v for k, v in _TOOLUSE_MIX.items() if k != "suites.miniwob"},
    "suites.miniwob.families": ["click-button", "book-flight"],
    "suites.miniwob.episodes_per_family": 5,
    "suites.miniwob.options.episodes_in_flight": 10,
}
"""The `cpu` budget's mix: tool use and GUI pages."""


@dataclass(frozen=True)
class Budget:
    """One fixed compute budget, the same for every arm."""

    name: str
    overrides: Mapping[str, Any]
    seeds: tuple[int, ...] = (0, 1, 2)
    arms: tuple[str, ...] = tuple(ARMS)
    doc: str = ""
    extra_required: tuple[str, ...] = field(default=())
    """Keys the caller must supply (`--set key=value`), e.g. the cluster's base model."""
    seed_keys: tuple[str, ...] = SEED_KEYS
    """The params a training seed sets (`RL_SEED_KEYS`: the SFT warm start is shared)."""


BUDGETS: dict[str, Budget] = {
    b.name: b
    for b in (
        Budget(
            "micro",
            {
                # tool use only, two families, a 2-layer 32-wide model, a handful of steps:
                # checks the runner end to end in a few minutes.
                "suites.miniwob": DELETE,
                "suites.tooluse": {"families": ["kb_arithmetic", "unit_chain"],
                                                 "difficulties": [1, 2, 3]},
                "build_dataset.seeds.train": {"start": 0, "stop": 12},
                "build_dataset.seeds.val": {"start": 200, "stop": 203},
                "build_dataset.seeds.test": {"start": 230, "stop": 236},
                "policy.vocab_size": 320, "policy.hidden_size": 32, "policy.num_layers": 2,
                "policy.num_heads": 2, "policy.intermediate_size": 64,
                "policy.max_prompt_tokens": 384, "policy.max_new_tokens": 64,
                "sft.max_steps": 8, "sft.batch_size": 4, "sft.warmup_steps": 0,
                "stage1_grpo.max_steps": 2, "stage1_grpo.batch_size": 4,
                "stage1_grpo.num_generations": 2, "stage1_grpo.save_steps": 1,
                "collect_feedback.episodes_per_family": 1, "collect_feedback.episode_limit": 4,
                "stage2_rft.max_steps": 2, "stage2_rft.batch_size": 4,
                "stage2_rft.num_generations": 2, "stage2_rft.save_steps": 1,
                "evaluate.episodes_per_family": 6, "evaluate.episode_limit": 6,
                "evaluate.bootstrap_samples": 100,
            },
            seeds=(0,),
            arms=("T5",),
            doc="one arm, one seed, a handful of steps, tool use only: the runner's smoke test",
        ),
        Budget(
            "small",
            {
                **_TOOLUSE_MIX,
                # The default SFT (600 steps: fewer leave a 64-wide model's plans
                # unparseable), trained once per horizon and shared by the 3 seeds; half
                # the default Stage-1 steps and a quarter of the Stage-2 steps per seed.
                "stage1_grpo.max_steps": 10, "stage1_grpo.save_steps": 10,
                "stage2_rft.max_steps": 5, "stage2_rft.save_steps": 5,
            },
            doc="every arm x 3 RL seeds from one SFT per horizon, tool use only: about "
                "an hour and a quarter on 2 CPU cores with --jobs 2 (see the README)",
            seed_keys=RL_SEED_KEYS,
        ),
        Budget(
            "cpu",
            dict(_GUI_MIX),
            doc="tool use + click-button + book-flight at the default params.yaml training "
                "budget (600 SFT steps, 20 + 20 GRPO steps): several hours on 2 CPU cores",
        ),
        Budget(
            "cluster",
            {
                # A real base model with LoRA on one GPU per run; the default data mix
                # (tool use + ten MiniWoB pages, 200/30/30 task seeds) and longer training.
                "policy.dtype": "bfloat16",
                "policy.max_prompt_tokens": 2048,
                "sft.max_steps": 2000, "sft.batch_size": 16, "sft.learning_rate": 0.0002,
                "stage1_grpo.max_steps": 300, "stage1_grpo.batch_size": 64,
                "stage1_grpo.num_generations": 8, "stage1_grpo.learning_rate": 0.00001,
                "stage1_grpo.save_steps": 50,
                "collect_feedback.episodes_per_family": 30,
                "stage2_rft.max_steps": 300, "stage2_rft.batch_size": 64,
                "stage2_rft.num_generations": 8, "stage2_rft.learning_rate": 0.00001,
                "stage2_rft.save_steps": 50,
                "evaluate.episodes_per_family": 30,
            },
            seeds=(0, 1, 2, 3, 4),
            doc="a GPU node with a real base model: pass --set policy.base_model=PATH",
            extra_required=("policy.base_model",),
        ),
    )
}


def overrides(budget: str, arm: str, seed: int,
              extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every override of one run, later ones winning: budget, one-variant, arm, seed, extra."""
    out: dict[str, Any] = {}
    scored = {"evaluate.policies": list(ARMS[arm].policies)}
    for layer in (BUDGETS[budget].overrides, ONE_VARIANT, ARMS[arm].overrides, scored,
                  dict.fromkeys(BUDGETS[budget].seed_keys, seed), extra or {}):
        out.update(layer)
    return out


def hydra_value(value: Any) -> str:
    """A value in the Hydra override grammar that `dvc exp run -S` parses.

    >>> hydra_value({"families": ["click-button"], "stop": 12, "x": None, "w": 0.5})
    "{families: ['click-button'], stop: 12, x: null, w: 0.5}"
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if any(c in value for c in "'\\\n"):
            raise ValueError(f"override string {value!r}: quotes, backslashes and newlines "
                             "are not supported")
        return f"'{value}'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        for key in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(key)):
                raise ValueError(f"override mapping key {key!r}: not a plain name")
        return "{" + ", ".join(f"{k}: {hydra_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"override value {value!r}: unsupported type {type(value).__name__}")


def set_param_args(values: Mapping[str, Any]) -> list[str]:
    """``-S`` arguments for `dvc exp run`: deletions first, then the settings in order.

    >>> set_param_args({"sft.seed": 1, "forecast.variants.reactive": DELETE})
    ['-S', '~forecast.variants.reactive', '-S', '++sft.seed=1']
    """
    deletions = [f"~{key}" for key, value in values.items() if value is DELETE]
    # `++`: params.yaml sets only what differs from the defaults, so a key may be absent
    # (plain `key=` refuses a new key; `++` adds it, and sets an existing one the same way).
    settings = [f"++{key}={hydra_value(value)}" for key, value in values.items()
                if value is not DELETE]
    return [arg for item in (*deletions, *settings) for arg in ("-S", item)]


def describe(values: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides as JSON-able data (a deletion is the string ``"<delete>"``)."""
    return {key: "<delete>" if value is DELETE else value for key, value in values.items()}


__all__ = [
    "ARMS", "BUDGETS", "CANDIDATE", "DELETE", "HORIZON_KEY", "ONE_VARIANT", "RL_SEED_KEYS",
    "SEED_KEYS",
    "TABLES", "Arm", "Budget", "Row", "Table", "describe", "hydra_value", "overrides",
    "set_param_args",
]
