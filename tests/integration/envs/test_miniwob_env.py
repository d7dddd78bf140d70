"""MiniWoBEnv on a real headless Chromium: observations, actions, rewards, and a browser
that crashes or hangs mid-episode (restored by replay, or the episode ends failed)."""

from __future__ import annotations

import functools
import io
import os
import signal
import time

import pytest

from tests.integration.miniwob_fixtures import miniwob_suite  # noqa: F401
from tracer1.actions import Answer, Click, Done, Press, Tool, Type
from tracer1.envs.base import restore
from tracer1.envs.browser import Browser
from tracer1.envs.browser_pool import BrowserPool
from tracer1.envs.miniwob import WINDOW, MiniWoBEnv

# No skip without a browser: `make test` installs one (or stops saying what to install).
pytestmark = pytest.mark.integration

FAMILY = "click-button"
NOWHERE = Click(990, 990)  # the empty bottom-right corner: a click that changes nothing


@pytest.fixture
def env(miniwob_suite):  # noqa: F811
    environment = miniwob_suite.make_env()
    yield environment
    environment.close()


@pytest.fixture
def task(miniwob_suite):  # noqa: F811
    return miniwob_suite.make_task(FAMILY, 3)


def target_of(task, obs):
    name = task.spec["fields"]["target"]
    return next(e for e in obs.elements if e.tag == "button" and e.text == name)


def kill(env: MiniWoBEnv) -> None:
    os.killpg(env._lease.browser.pid, signal.SIGKILL)


def test_observation_is_the_page_on_the_grid(env, task):
    obs = env.reset(task)
    assert task.instruction.startswith("Click on the") and obs.text == ""
    buttons = [e for e in obs.elements if e.tag == "button"]
    assert len(buttons) >= 2 and target_of(task, obs) in buttons
    assert any(e.tag == "input_text" for e in obs.elements)
    for e in obs.elements:
        assert 0 <= e.box.left <= e.box.right <= 1000 and 0 <= e.box.top <= e.box.bottom <= 1000


def test_clicking_the_target_wins(env, task):
    target = target_of(task, env.reset(task))
    obs, reward, done, info = env.step(Click(*target.box.center))
    assert (reward, done) == (1.0, True) and obs.text == "(episode over)"
    assert info["verb"] == "click" and info["point"] == list(target.box.center)
    assert info["element"] == target.ref and info["ok"] and info["page_reward"] > 0
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(NOWHERE)


def test_a_wrong_click_loses(env, task):
    obs = env.reset(task)
    wrong = next(e for e in obs.elements if e.tag == "button" and e is not target_of(task, obs))
    _, reward, done, info = env.step(Click(*wrong.box.center))
    assert (reward, done) == (0.0, True) and info["element"] == wrong.ref
    assert info["page_reward"] < 0


def test_type_and_press_report_the_focused_element(env, task):
    field = next(e for e in env.reset(task).elements if e.tag == "input_text")
    obs, _, done, info = env.step(Click(*field.box.center))
    assert not done and info["element"] == field.ref and obs.text == f"Focused: [{field.ref}]"
    obs, reward, done, info = env.step(Type("abc"))
    assert (reward, done) == (0.0, False)
    assert info["text"] == "abc" and info["element"] == field.ref
    assert info["point"] == list(field.box.center)
    assert next(e for e in obs.elements if e.ref == field.ref).text == "abc"
    _, _, done, info = env.step(Press("Enter"))
    assert not done and info["key"] == "Enter" and info["element"] == field.ref


def test_done_gives_up_with_nothing(env, task):
    env.reset(task)
    obs, reward, done, info = env.step(Done())
    assert (reward, done) == (0.0, True) and info["verb"] == "done" and info["ok"]


@pytest.mark.parametrize("action", [Tool.of("calculator", {"expression": "1+1"}), Answer("42")])
def test_tool_calls_and_answers_are_invalid_here(env, task, action):
    env.reset(task)
    obs, reward, done, info = env.step(action)
    assert (reward, done) == (0.0, False) and not info["ok"]
    assert f"error: {action.verb}() is not a GUI action" in obs.text
    assert info["output"] in obs.text
    obs, _, _, _ = env.step(NOWHERE)
    assert "error" not in obs.text  # reported once, in the observation right after


def test_a_made_up_key_is_an_invalid_action_not_a_dead_browser(miniwob_suite, env, task):  # noqa: F811
    env.reset(task)
    driver = env._lease.driver  # the same browser before and after: nothing restarted
    obs, reward, done, info = env.step(Press("tuefgk"))
    assert (reward, done) == (0.0, False) and not info["ok"]
    assert "error: press(): no key named 'tuefgk'" in obs.text
    assert env._lease.driver is driver
    obs, _, _, info = env.step(Press("Tab"))
    assert info["ok"] and "error" not in obs.text


def test_easy_pages_get_a_tighter_step_limit(miniwob_suite, task):  # noqa: F811
    env = MiniWoBEnv(miniwob_suite.pool, max_steps=5, step_limits={task.difficulty: 2, 3: 9})
    try:
        env.reset(task)
        assert env.step(NOWHERE)[2] is False
        _, reward, done, info = env.step(NOWHERE)
        assert (reward, done, info["truncated"]) == (0.0, True, True)  # 2 steps, not 5
    finally:
        env.close()


def test_same_seed_same_page_and_replay_restores_it(miniwob_suite, env, task):  # noqa: F811
    first = env.reset(task)
    assert env.reset(task) == first
    other = env.reset(miniwob_suite.make_task(FAMILY, 4))
    assert other.elements != first.elements
    field = next(e for e in env.reset(task).elements if e.tag == "input_text")
    actions = [Click(*field.box.center), Type("hello"), NOWHERE]
    for action in actions:
        live, *_ = env.step(action)
    replayed_env, replayed = restore(miniwob_suite, task, actions)
    replayed_env.close()
    assert replayed == live


def test_screenshot_is_the_task_screen(env, task):
    from PIL import Image

    env.reset(task)
    png = env.screenshot()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.size == (160, 210)
    # The whole task screen is inside the viewport: its bottom rows are page, not black.
    assert image.convert("L").crop((0, 200, 160, 210)).getextrema()[1] > 0


def test_a_killed_browser_is_restarted_and_the_episode_replayed(miniwob_suite, env, task):  # noqa: F811
    pool = miniwob_suite.pool
    field = next(e for e in env.reset(task).elements if e.tag == "input_text")
    actions = [Click(*field.box.center), Type("abc"), NOWHERE]
    for action in actions[:-1]:
        env.step(action)
    restarted = pool.restarted
    kill(env)
    after, reward, done, info = env.step(actions[-1])
    assert (reward, done) == (0.0, False) and info["ok"] and "error" not in info
    assert pool.restarted == restarted + 1
    reference_env, reference = restore(miniwob_suite, task, actions)
    reference_env.close()
    assert after == reference  # same refs, the text typed before the crash, same focus
    assert next(e for e in after.elements if e.ref == field.ref).text == "abc"
    _, reward, done, _ = env.step(Click(*target_of(task, after).box.center))
    assert (reward, done) == (1.0, True)


def test_a_browser_failing_twice_ends_the_episode_failed(miniwob_suite, env, task,  # noqa: F811
                                                         monkeypatch, caplog):
    pool = miniwob_suite.pool
    replace = pool.replace

    def replace_with_a_dying_browser(lease):
        fresh = replace(lease)
        os.killpg(fresh.browser.pid, signal.SIGKILL)
        return fresh

    env.reset(task)
    kill(env)
    monkeypatch.setattr(pool, "replace", replace_with_a_dying_browser)
    obs, reward, done, info = env.step(NOWHERE)
    assert (reward, done) == (0.0, True) and not info["ok"]
    assert info["error"].startswith("browser failed twice on click()")
    assert obs.text == "(episode over)"
    assert "the episode ends as failed" in caplog.text
    monkeypatch.undo()
    assert env.reset(task).elements  # the next episode gets a working browser


@pytest.fixture(scope="module")
def quick_pool():
    """A pool whose browsers give up on a command after 2 s, so a hang is cheap to test."""
    pool = BrowserPool(1, factory=functools.partial(Browser, window=WINDOW, command_timeout=2))
    yield pool
    pool.shutdown()


def test_a_hung_page_is_bounded_and_the_episode_goes_on(quick_pool, task):
    env = MiniWoBEnv(quick_pool)
    try:
        before = env.reset(task)
        # Hang the page a moment after this command has answered (a hang inside it would
        # time out the injection itself).
        env._lease.driver.execute_script("setTimeout(function () { while (true) {} }, 300);")
        time.sleep(1.0)
        started = time.monotonic()
        after, reward, done, info = env.step(NOWHERE)
        # One command timeout, a browser start and the replay; never the hang itself.
        assert time.monotonic() - started < 40
        assert (reward, done) == (0.0, False) and info["ok"] and after == before
        assert quick_pool.restarted == 1
    finally:
        env.close()
