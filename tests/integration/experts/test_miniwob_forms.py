"""The form experts in the real browser: they solve their pages, also after a planner's detour.

A detour is a few wrong actions played first (wrong text typed, wrong boxes ticked,
another tab opened, another menu left open); the expert then takes over with those
steps as its history and must still finish the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from tests.integration.miniwob_fixtures import (
    miniwob_suite,  # noqa: F401
    success_rate,
)
from tracer1.actions import Action, Press, Type
from tracer1.envs.miniwob_suite import MiniWoBSuite
from tracer1.experts.miniwob.dom import click, find, first
from tracer1.trajectory import Observation, Step, Task

pytestmark = pytest.mark.integration

FORMS = ["click-button", "click-checkboxes", "click-tab-2", "enter-text", "login-user",
         "use-autocomplete"]
SEEDS = range(200, 210)  # not the bench's seeds (0-99); 10 x 6 pages keep the file < 60 s
Detour = Callable[[Observation, Task], Action]


@pytest.mark.parametrize("family", FORMS)
def test_expert_solves_its_page(miniwob_suite, family):  # noqa: F811
    assert success_rate(miniwob_suite, family, SEEDS) >= 0.95


def play(env, task: Task, obs: Observation, moves: Sequence[Detour],
         steps: list[Step]) -> Observation:
    """Play planner moves (each built from the page it sees); none may end the episode."""
    for move in moves:
        action = move(obs, task)
        next_obs, _, done, info = env.step(action)
        assert not done, f"the detour itself ended the episode at {action}"
        steps.append(Step(len(steps), obs, action, executed=dict(info)))
        obs = next_obs
    return obs


def finish(suite: MiniWoBSuite, env, task: Task, obs: Observation, steps: list[Step],
           budget: int = 20) -> bool:
    expert = suite.expert()
    for _ in range(budget):
        action = expert.act(task, obs, steps)
        next_obs, reward, done, info = env.step(action)
        steps.append(Step(len(steps), obs, action, executed=dict(info), reward=float(reward)))
        obs = next_obs
        if done:
            return reward > 0
    return False


def after_detour(suite: MiniWoBSuite, family: str, seed: int,
                 moves: Sequence[Detour]) -> tuple[bool, list[Step]]:
    task = suite.make_task(family, seed)
    env, steps = suite.make_env(), []
    try:
        obs = play(env, task, env.reset(task), moves, steps)
        return finish(suite, env, task, obs, steps), steps
    finally:
        env.close()


def click_tag(tag: str, index: int = 0) -> Detour:
    return lambda obs, task: click(find(obs, tag=tag)[index])


def type_text(text: str) -> Detour:
    return lambda obs, task: Type(text)


def press(key: str) -> Detour:
    return lambda obs, task: Press(key)


def test_enter_text_replaces_wrong_text(miniwob_suite):  # noqa: F811
    for seed in (0, 1):
        ok, steps = after_detour(miniwob_suite, "enter-text", seed,
                                 [click_tag("input_text"), type_text("wrong")])
        assert ok
        assert Press("ctrl+a") in [s.action for s in steps[2:]]  # selected, then retyped


def test_login_user_fixes_swapped_fields(miniwob_suite):  # noqa: F811
    def username(obs, task):
        return Type(task.spec["fields"]["username"])

    def password(obs, task):
        return Type(task.spec["fields"]["password"])

    ok, _ = after_detour(miniwob_suite, "login-user", 3,
                         [click_tag("input_text"), password,
                          click_tag("input_password"), username])
    assert ok


def test_checkboxes_undo_a_planner_flipping_every_box(miniwob_suite):  # noqa: F811
    for seed in (0, 5):
        task = miniwob_suite.make_task("click-checkboxes", seed)
        env, steps = miniwob_suite.make_env(), []
        try:
            obs = env.reset(task)
            flips = [click_tag("input_checkbox", i)
                     for i in range(len(find(obs, tag="input_checkbox")))]
            obs = play(env, task, obs, flips, steps)
            assert finish(miniwob_suite, env, task, obs, steps)
        finally:
            env.close()


def test_click_tab_2_after_opening_another_tab(miniwob_suite):  # noqa: F811
    def tab(name: str) -> Detour:
        return lambda obs, task: click(first(find(obs, text=name, tag="a")))

    for seed, detour in ((0, [tab("Tab #3")]), (1, [tab("Tab #2"), tab("Tab #3")])):
        ok, _ = after_detour(miniwob_suite, "click-tab-2", seed, detour)
        assert ok


def test_use_autocomplete_after_another_menu_or_a_wrong_pick(miniwob_suite):  # noqa: F811
    def wrong_item(obs, task):
        items = [e for e in find(obs, tag="div") if e.box.right > e.box.left
                 and not e.text.endswith(task.spec["fields"].get("end", "\0"))]
        return click(items[0])

    field = click_tag("input_text")
    # Another text's menu left open (ArrowDown opens it at once).
    ok, _ = after_detour(miniwob_suite, "use-autocomplete", 0,
                         [field, type_text("Ch"), press("down")])
    assert ok
    # The right start, but a suggestion that does not end right.
    ok, _ = after_detour(miniwob_suite, "use-autocomplete", 0,
                         [field, type_text("An"), press("down"), wrong_item])
    assert ok


def test_use_autocomplete_with_the_last_episodes_menu_still_open(miniwob_suite):  # noqa: F811
    """A planner left the menu open and the episode ended; the next one reuses the page."""
    first_task = miniwob_suite.make_task("use-autocomplete", 1)
    task = miniwob_suite.make_task("use-autocomplete", 2)
    env, steps = miniwob_suite.make_env(), []
    try:
        play(env, first_task, env.reset(first_task),
             [click_tag("input_text"), type_text("Ma"), press("down")], [])
        assert finish(miniwob_suite, env, task, env.reset(task), steps)
    finally:
        env.close()
