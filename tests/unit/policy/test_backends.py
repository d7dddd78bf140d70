"""One generation interface under the planner: the `Agent` renders and clips, a
`GenerationBackend` generates, the agent cuts the completions; the vLLM engine is chosen
by the launch recipe and refuses clearly where it cannot run."""

from __future__ import annotations

import pytest

from tests.unit.training.fixtures import tiny_policy
from tracer1.policy import Agent, PlanRequest, load_agent
from tracer1.policy.backends import engine_of
from tracer1.policy.model import ModelMeta, build_tiny, save_model_dir
from tracer1.policy.tokenizer import train_tokenizer
from tracer1.training.launch import RECIPE_ENV, LaunchError, LaunchRecipe, Rollouts, recipe_json
from tracer1.trajectory import Observation

META = ModelMeta(horizon=2, history=2, max_prompt_tokens=64, max_new_tokens=40, variant="v",
                 stage="sft")
REQUESTS = [PlanRequest("Add 2 and 3.", Observation(text="tools: calculator")),
            PlanRequest("Find the year.", Observation())]


class Recording:
    """A backend that answers a fixed completion and records what it was asked."""

    def __init__(self, text: str):
        self.text, self.calls = text, []

    def generate(self, prompts, images, *, sample, num, max_new_tokens, first_action):
        self.calls.append((list(prompts), sample, num, max_new_tokens, first_action))
        return [self.text] * (len(prompts) * num)


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(["<plan>\nanswer(text=\"5\")\ndone()\n</plan> Add 2 and 3."] * 4,
                           vocab_size=300)


def test_the_agent_generates_through_its_backend_and_cuts_the_plan(tokenizer):
    backend = Recording('<plan>\nanswer(text="5")\ndone()\n</plan> trailing words')
    agent = Agent(None, tokenizer, META, backend=backend)
    out = agent.plan(REQUESTS, sample=True, num=3)
    assert out == [['<plan>\nanswer(text="5")\ndone()\n</plan>'] * 3] * 2
    [(prompts, sample, num, budget, first)] = backend.calls
    assert prompts == agent.prompts(REQUESTS)  # rendered and clipped by the agent
    assert (sample, num, budget, first) == (True, 3, 40, False)


def test_first_action_mode_closes_the_plan_after_the_first_action(tokenizer):
    backend = Recording('<plan>\nanswer(text="5")\ndone()\n')
    agent = Agent(None, tokenizer, META, backend=backend, first_action=True)
    assert agent.plan(REQUESTS[:1]) == [['<plan>\nanswer(text="5")\n</plan>']]


def test_the_default_backend_is_the_agents_own_generate(tokenizer):
    model = build_tiny(tiny_policy(max_prompt_tokens=64, max_new_tokens=8), tokenizer)
    agent = Agent(model, tokenizer, META)
    assert agent.backend is agent
    assert len(agent.plan(REQUESTS)) == 2


def test_the_engine_comes_from_the_launch_recipe(monkeypatch, tmp_path, tokenizer):
    assert engine_of(None) == "transformers" and engine_of("vllm") == "vllm"
    vllm = LaunchRecipe(rollouts=Rollouts(engine="vllm"))
    monkeypatch.setenv(RECIPE_ENV, recipe_json(vllm))
    assert engine_of(None) == "vllm"
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU machine: vLLM may well run here")
    model = build_tiny(tiny_policy(max_prompt_tokens=64, max_new_tokens=8), tokenizer)
    save_model_dir(tmp_path / "m", model, tokenizer, META)
    with pytest.raises(LaunchError, match="rollouts.engine: vllm needs a CUDA GPU"):
        load_agent(tmp_path / "m")
    assert load_agent(tmp_path / "m", engine="transformers").backend is not None
