"""The `base` policy: the untrained base model zero-shot through the same Agent, or a note."""

from __future__ import annotations

import contextlib
import dataclasses
import doctest
import json
from types import SimpleNamespace

import pytest

import tracer1.evaluation.zero_shot as zero_shot_module
from tracer1.config import BASE_POLICY, ConfigError, EvaluateConfig, ForecastConfig, Params
from tracer1.evaluation.zero_shot import SKIP_NOTE, base_agent, base_planner
from tracer1.trajectory import Observation


def _params(base_model: str | None) -> SimpleNamespace:
    """What `base_planner` reads."""
    from tests.unit.training.fixtures import tiny_policy

    return SimpleNamespace(policy=tiny_policy(base_model=base_model), forecast=ForecastConfig())


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    """A plain HF directory as `prepare_base` writes it: weights + tokenizer, no tracer1.json."""
    from tests.unit.training.fixtures import tiny_policy
    from tracer1.policy.model import build_tiny
    from tracer1.policy.tokenizer import train_tokenizer

    path = tmp_path_factory.mktemp("base")
    texts = ["<plan>\nclick(x=1, y=2)\ndone()\n</plan>", "Add 2 and 3. calculator answer"] * 8
    tokenizer = train_tokenizer(texts, 300)
    build_tiny(tiny_policy(), tokenizer).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_no_base_model_means_a_skip_with_a_note():
    agent, note = base_planner(_params(None))
    assert agent is None and note == SKIP_NOTE
    assert note.startswith(f"{BASE_POLICY}: not scored") and "policy.base_model is null" in note


def test_base_agent_loads_a_plain_hf_directory(hf_dir):
    from tests.unit.training.fixtures import tiny_policy
    from tracer1.policy.agent import Agent
    from tracer1.policy.base import PlanRequest

    policy = tiny_policy(max_new_tokens=8)
    agent = base_agent(hf_dir, horizon=5, history=4, policy=policy)
    assert isinstance(agent, Agent)
    assert (agent.horizon, agent.history) == (5, 4)
    meta = agent.meta
    assert (meta.variant, meta.stage, meta.base_model, meta.lora) == ("base", "base", None, False)
    assert (meta.max_prompt_tokens, meta.max_new_tokens) == (policy.max_prompt_tokens, 8)
    assert agent.tokenizer.padding_side == "left"  # loaded by policy.tokenizer.load_tokenizer
    (completions,) = agent.plan([PlanRequest("Add 2 and 3.", Observation(text="calculator"))])
    assert len(completions) == 1 and isinstance(completions[0], str)
    with pytest.raises(ValueError, match="dtype"):
        base_agent(hf_dir, horizon=1, history=0, policy=dataclasses.replace(policy, dtype="int8"))


def _prepared(hf_dir, spec: str, tmp_path):
    """`hf_dir` with the `source.json` `prepare_base` writes for `spec`."""
    import shutil

    from tracer1.policy import source

    out = tmp_path / "models" / "base"
    shutil.copytree(hf_dir, out)
    (out / source.SOURCE_FILE).write_text(json.dumps(
        {"format": source.SOURCE_FORMAT, "spec": spec, "kind": "dir", "policy_kind": "text"}))
    return out


def test_base_planner_uses_the_prepared_directory_and_the_candidate_horizon(hf_dir, tmp_path):
    out = _prepared(hf_dir, "/models/some-base", tmp_path)
    params = _params("/models/some-base")
    agent, note = base_planner(params, base_dir=out, first_action=True)
    assert note is None and agent.meta.stage == "base"
    assert agent.first_action  # decodes as the trained policies it is compared with
    assert agent.horizon == params.forecast.horizon(params.forecast.candidate)
    assert agent.history == params.forecast.history


def test_base_planner_refuses_a_missing_or_stale_directory(hf_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="prepare-base"):
        base_planner(_params("/models/some-base"), base_dir=tmp_path / "nowhere")
    out = _prepared(hf_dir, "/models/another-base", tmp_path)
    with pytest.raises(ValueError, match="prepare-base"):
        base_planner(_params("/models/some-base"), base_dir=out)


def test_base_is_an_allowed_evaluate_policy():
    from tests.helpers import REPO
    from tracer1.config import load_params

    params = load_params(REPO / "params.yaml",
                         {"evaluate.policies": ["base", "sft", "stage1", "stage2"]})
    assert params.evaluate.policies[0] == BASE_POLICY
    with pytest.raises(ConfigError, match="name only base, sft, stage1, stage2"):
        load_params(REPO / "params.yaml", {"evaluate.policies": ["bse", "stage2"]})


class _Stop(Exception):
    pass


def test_evaluate_stage_skips_base_with_a_note_in_the_report(monkeypatch):
    """`stages.evaluate` with `base` asked for and no base model: every other policy loads,
    `base` does not, and the note reaches `evaluate_planners` (then the report)."""
    from tracer1 import stages
    from tracer1.data import jsonl
    from tracer1.evaluation import harness, tasks
    from tracer1.registry import mlflow_registry

    seen = {}

    def evaluate_planners(planners, *args, notes=(), **kwargs):
        seen.update(planners=dict(planners), notes=list(notes))
        raise _Stop

    monkeypatch.setattr("tracer1.policy.load_agent", lambda path, **kw: f"agent:{path}")
    monkeypatch.setattr(harness, "evaluate_planners", evaluate_planners)
    monkeypatch.setattr(mlflow_registry, "champion_version", lambda name: None)
    monkeypatch.setattr(stages, "_run", lambda *a, **k: contextlib.nullcontext(None))
    monkeypatch.setattr(stages, "_suites", lambda params: contextlib.nullcontext({}))
    monkeypatch.setattr(tasks, "split_file_tasks", lambda *a, **k: {})
    monkeypatch.setattr(jsonl, "read_episodes", lambda path: [])
    params = dataclasses.replace(Params(), evaluate=EvaluateConfig(policies=("base", "sft",
                                                                              "stage2")))
    assert params.policy.base_model is None
    with pytest.raises(_Stop):
        stages.evaluate(params, "params.yaml")
    assert list(seen["planners"]) == ["sft", "stage2", "reactive"]
    assert seen["notes"] == [SKIP_NOTE]


def test_docstring_examples():
    result = doctest.testmod(zero_shot_module)
    assert result.attempted > 0 and result.failed == 0
