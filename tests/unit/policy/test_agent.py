"""`Agent`: the Planner protocol over a causal LM — shapes, greedy vs sampled, clipping, I/O."""

from __future__ import annotations

import pytest

from tests.unit.training.fixtures import tiny_policy
from tracer1.policy import Agent, Planner, PlanRequest, load_agent
from tracer1.policy.agent import _cut_after_plan
from tracer1.policy.model import ModelMeta, build_tiny
from tracer1.policy.tokenizer import train_tokenizer
from tracer1.trajectory import Observation

TEXTS = ['<plan>\ntool(name="search", args={"query": "Soquiand"})\n</plan>',
         "Task: find the year\nObservation:\nResults: no calls yet.\n"] * 4
REQUESTS = [
    PlanRequest("Add 2 and 3.", Observation(text="tools: calculator")),
    PlanRequest("A much longer task " * 40, Observation(text="x " * 200)),
    PlanRequest("Third.", Observation()),
]


@pytest.fixture(scope="module")
def agent():
    tok = train_tokenizer(TEXTS, vocab_size=300)
    cfg = tiny_policy(max_prompt_tokens=128, max_new_tokens=12)
    meta = ModelMeta(horizon=2, history=2, max_prompt_tokens=128, max_new_tokens=12,
                     variant="v", stage="sft")
    return Agent(build_tiny(cfg, tok), tok, meta, batch_size=2, seed=7)


def test_agent_is_a_planner(agent):
    assert isinstance(agent, Planner)
    assert (agent.horizon, agent.history) == (2, 2)


def test_plan_shapes_and_greedy_determinism(agent):
    out = agent.plan(REQUESTS, num=3)
    assert len(out) == 3 and all(len(texts) == 3 for texts in out)
    assert all(len(set(texts)) == 1 for texts in out)  # greedy: one decode, repeated
    assert agent.plan(REQUESTS) == [[texts[0]] for texts in out]  # and the same next time
    assert agent.plan([]) == []


def test_sampling_draws_num_samples_reproducibly_with_a_seed(agent):
    tok, model, meta = agent.tokenizer, agent.model, agent.meta
    first = Agent(model, tok, meta, seed=3).plan(REQUESTS[:2], sample=True, num=4)
    again = Agent(model, tok, meta, seed=3).plan(REQUESTS[:2], sample=True, num=4)
    assert first == again
    assert [len(x) for x in first] == [4, 4]
    assert len(set(first[0])) > 1  # a random-init model samples different texts


def test_prompts_are_clipped_to_the_budget(agent):
    prompts = agent.prompts(REQUESTS)
    assert all(len(agent.tokenizer(p)["input_ids"]) <= 128 for p in prompts)
    full = REQUESTS[1].prompt(2, 2)
    assert prompts[1] != full and full.endswith(prompts[1])  # the newest text is kept
    assert prompts[2] == REQUESTS[2].prompt(2, 2)


def test_completion_is_cut_after_the_plan():
    assert _cut_after_plan("<plan>\ndone()\n</plan>tail") == "<plan>\ndone()\n</plan>"
    assert _cut_after_plan("no plan") == "no plan"


def test_save_and_load_agent(agent, tmp_path):
    agent.save(tmp_path / "m")
    loaded = load_agent(tmp_path / "m", batch_size=4)
    assert loaded.meta == agent.meta and loaded.batch_size == 4
    assert loaded.plan(REQUESTS[:1]) == agent.plan(REQUESTS[:1])


def test_num_must_be_positive(agent):
    with pytest.raises(ValueError):
        agent.plan(REQUESTS, num=0)


def test_first_action_mode_cuts_after_the_first_action_line_and_closes_the_block():
    from tracer1.actions import parse_plan
    from tracer1.policy.agent import _close_first_action, _first_action_line

    text = '<plan>\ntool(name="search", args={"query": "Soquiand"})\nanswer(te'
    assert _first_action_line(text) == 'tool(name="search", args={"query": "Soquiand"})'
    closed = _close_first_action(text)
    assert closed == '<plan>\ntool(name="search", args={"query": "Soquiand"})\n</plan>'
    assert parse_plan(closed).errors == () and len(parse_plan(closed).actions) == 1
    # Not yet a finished line, or no block at all: nothing to stop at, left as it is.
    assert _first_action_line("<plan>\nclick(x=1") is None
    assert _close_first_action("no plan\nat all\n") == "no plan\nat all\n"
    # A block that closes first keeps its own end.
    assert _close_first_action("<plan>\ndone()\n</plan>x") == "<plan>\ndone()\n</plan>"


def test_first_action_stop_ends_a_row_once_its_first_action_line_is_finished(agent):
    import torch

    from tracer1.policy.agent import _FirstActionStop

    tok = agent.tokenizer
    prompt = tok("Task: find the year\n", add_special_tokens=False)["input_ids"]
    done_ids = tok('<plan>\ntool(name="search", args={"query": "Soquiand"})\n',
                   add_special_tokens=False)["input_ids"]
    open_ids = tok("<plan>\n", add_special_tokens=False)["input_ids"]
    stop = _FirstActionStop(tok, len(prompt))
    pad = [tok.pad_token_id] * (len(done_ids) - len(open_ids))
    rows = torch.tensor([prompt + done_ids, prompt + pad + open_ids])
    assert stop(rows, None).tolist() == [True, False]


def test_first_action_agent_decodes_at_most_its_budget(agent):
    from tracer1.policy.agent import FIRST_ACTION_TOKENS

    fast = Agent(agent.model, agent.tokenizer, agent.meta, first_action=True)
    assert fast.first_action and FIRST_ACTION_TOKENS >= 48
    [[text]] = fast.plan(REQUESTS[:1])
    assert isinstance(text, str)
