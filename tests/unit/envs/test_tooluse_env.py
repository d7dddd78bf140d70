"""The tool-use environment: protocol behaviour, observations, rewards and hostile actions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracer1.actions import Answer, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.envs import Environment, Expert, Suite, get_suite, suite_names
from tracer1.envs.tooluse import ToolUseEnv, ToolUseSuite
from tracer1.executors import default_world


@pytest.fixture
def suite():
    return get_suite("tooluse")


@pytest.fixture
def env():
    environment = ToolUseEnv()
    yield environment
    environment.close()


@pytest.fixture
def task(suite):
    return suite.make_task("kb_arithmetic", seed=4, difficulty=2)


def test_registered_and_implements_the_protocols(suite):
    assert "tooluse" in suite_names()
    assert isinstance(suite, ToolUseSuite) and isinstance(suite, Suite)
    assert isinstance(suite.make_env(), Environment) and isinstance(suite.expert(), Expert)
    assert list(suite.families()) == ["kb_arithmetic", "unit_chain", "table_sum", "date_math",
                                      "mixed"]
    assert suite.make_task("mixed", 1, 2).task_id == "tooluse/mixed/d2/s1"


def test_reset_shows_the_tools_and_no_calls(env, task):
    text = env.reset(task).text
    for signature in ("calculator(expression: str)", "search(query: str)",
                      "table(name: str, row?: str, column?: str)", "convert(", "date("):
        assert signature in text
    assert "no calls yet" in text


def test_a_tool_call_is_executed_and_shown(env, task):
    env.reset(task)
    call = task.spec["plan"][0]
    obs, reward, done, info = env.step(Tool.of(call["tool"], call["args"]))
    assert (reward, done) == (0.0, False)
    assert info == {"tool": call["tool"], "args": call["args"], "output": info["output"],
                    "ok": True}
    assert json.loads(json.dumps(info)) == info
    assert "Call 1: tool(name=\"search\"" in obs.text and info["output"] in obs.text


def test_after_the_first_call_the_tools_are_listed_by_signature_only(env, task):
    first = env.reset(task).text
    call = task.spec["plan"][0]
    later, *_ = env.step(Tool.of(call["tool"], call["args"]))
    assert "keyword search in the knowledge base" in first
    assert "keyword search" not in later.text and "search(query: str)" in later.text


def test_hostile_calls_are_error_observations_and_the_episode_goes_on(env, task):
    env.reset(task)
    hostile = [
        Tool.of("calculator", {"expression": "__import__('os').system('rm -rf /')"}),
        Tool.of("calculator", {"expression": "9**9**9"}),
        Tool.of("calculator", {"expression": "().__class__"}),
        Tool.of("search", {"query": '") OR 1=1; NEAR(*'}),
        Tool.of("shell", {"cmd": "cat /etc/passwd"}),
        Tool.of("calculator", {"expression": "x" * 10_000}),
        Tool.of("convert", {"value": "1", "from_unit": "km"}),
    ]
    for action in hostile:
        obs, reward, done, info = env.step(action)
        assert not done and reward == 0.0
        assert info["ok"] is (action.name == "search")  # the injection is just words
        json.dumps(info)
    assert obs.text.count("-> error:") >= 5
    assert len(obs.text) < 8000


@pytest.mark.parametrize("action", [Click(10, 20), Type("hello"), Press("enter"),
                                    Scroll("down"), Select("x")])
def test_gui_actions_are_not_executable_here(env, task, action):
    env.reset(task)
    obs, reward, done, info = env.step(action)
    assert (reward, done, info["ok"]) == (0.0, False, False)
    assert info["verb"] == action.verb and "GUI action" in info["output"]
    assert "GUI action" in obs.text


def test_correct_answer_scores_one(env, task):
    env.reset(task)
    _, reward, done, info = env.step(Answer(f"  {task.spec['answer']}0 "))
    assert (reward, done, info) == (1.0, True, {"answer": f"  {task.spec['answer']}0 ",
                                                "correct": True})


def test_wrong_answer_and_done_score_zero(env, task):
    env.reset(task)
    assert env.step(Answer("42 bananas"))[1:] == (0.0, True, {"answer": "42 bananas",
                                                            "correct": False})
    env.reset(task)
    assert env.step(Done())[1:] == (0.0, True, {"answer": None, "correct": False})


def test_stepping_outside_an_episode_is_a_caller_error(env, task):
    with pytest.raises(RuntimeError, match="reset"):
        env.step(Done())
    env.reset(task)
    env.step(Done())
    with pytest.raises(RuntimeError, match="reset"):
        env.step(Answer("1"))


def test_reset_clears_the_previous_episode(env, task, suite):
    env.reset(task)
    env.step(Tool.of("calculator", {"expression": "1 + 1"}))
    assert "no calls yet" in env.reset(suite.make_task("mixed", 0, 1)).text


def test_reset_refuses_a_task_of_another_suite(env):
    from tracer1.trajectory import Task

    with pytest.raises(ValueError, match="not a tool-use task"):
        env.reset(Task("miniwob/x", "miniwob", "click", 0, "click it"))


def test_observation_keeps_the_last_calls_and_clips_outputs(task):
    env = ToolUseEnv(history_limit=3, output_chars=50)
    env.reset(task)
    for i in range(7):
        obs, *_ = env.step(Tool.of("calculator", {"expression": f"{i} + 1"}))
    obs, *_ = env.step(Tool.of("table", {"name": "prices"}))  # a long output
    assert "Results of 8 call(s) (5 earlier not shown):" in obs.text
    assert "Call 5:" not in obs.text and "Call 6:" in obs.text and "Call 8:" in obs.text
    assert "more chars]" in obs.text


def test_step_budget_ends_the_episode(task):
    env = ToolUseEnv(max_steps=2)
    env.reset(task)
    assert env.step(Tool.of("calculator", {"expression": "1"}))[2] is False
    _, reward, done, info = env.step(Tool.of("calculator", {"expression": "1"}))
    assert (reward, done, info["truncated"]) == (0.0, True, True)


def test_step_limits_bound_a_difficulty_tighter_and_the_expert_fits_them(suite):
    bounded = ToolUseSuite(step_limits={"2": 3})
    task, easy = suite.make_task("kb_arithmetic", 4, 2), suite.make_task("kb_arithmetic", 4, 1)
    env = bounded.make_env()
    env.reset(task)
    for _ in range(2):
        assert env.step(Tool.of("calculator", {"expression": "1"}))[2] is False
    assert env.step(Tool.of("calculator", {"expression": "1"}))[3]["truncated"] is True
    env.reset(easy)  # difficulty 1 keeps max_steps
    assert all(not env.step(Tool.of("calculator", {"expression": "1"}))[2] for _ in range(5))
    env.close()
    with pytest.raises(ValueError, match="step_limits must be >= 1"):
        ToolUseSuite(step_limits={1: 0})


def test_the_default_step_limits_leave_the_expert_room():
    from tracer1.config import load_params

    repo = Path(__file__).resolve().parents[3]
    options = load_params(repo / "params.yaml").suites["tooluse"].options
    suite = ToolUseSuite(**options)
    for family in suite.families():
        for difficulty, limit in suite.step_limits.items():
            for seed in range(40):
                task = suite.make_task(family, seed, difficulty)
                assert len(task.spec["plan"]) + 1 <= limit - 2, task.task_id


def test_the_instruction_names_entities_the_tools_know(task):
    world = default_world()
    names = [e.name for e in (*world.cities, *world.people, *world.companies)]
    assert any(name in task.instruction for name in names)
