"""The app experts in the real browser: they solve their pages, also after a planner's detour.

A detour is a few wrong (but not fatal) actions played first, each built from the page
it is played on: the wrong email opened and a reply typed to it, a wrong search run
and paged, another tweet's menu opened and the feed scrolled away, a wrong airport
picked and the date picker paged to a wrong month. The expert then takes over with
those steps as its history and must still finish the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from tests.integration.miniwob_fixtures import (
    miniwob_suite,  # noqa: F401
    success_rate,
)
from tracer1.actions import Action, Click, Press, Scroll, Type
from tracer1.envs.miniwob import MiniWoBEnv
from tracer1.envs.miniwob_suite import MiniWoBSuite
from tracer1.experts.miniwob.apps import TWEET_ICONS
from tracer1.experts.miniwob.dom import PANE_POINT, click, find, first, px_box
from tracer1.trajectory import Observation, Step, Task

pytestmark = pytest.mark.integration

APPS = ["book-flight", "email-inbox", "search-engine", "social-media"]
SEEDS = range(300, 310)  # not the bench's seeds (0-99)
Move = Callable[[Observation, Task], Action]


@pytest.mark.parametrize("family", APPS)
def test_expert_solves_its_page(miniwob_suite, family):  # noqa: F811
    assert success_rate(miniwob_suite, family, SEEDS) >= 0.95


def after_detour(suite: MiniWoBSuite, family: str, seed: int, moves: Sequence[Move],
                 budget: int = 30) -> tuple[bool, list[Step]]:
    """Play the planner's moves, then the expert for `budget` steps: (success, steps)."""
    task = suite.make_task(family, seed)
    env = MiniWoBEnv(suite.pool, max_steps=len(moves) + budget)
    expert, steps = suite.expert(), []
    try:
        obs = env.reset(task)
        for index in range(len(moves) + budget):
            detour = index < len(moves)
            action = moves[index](obs, task) if detour else expert.act(task, obs, steps)
            next_obs, reward, done, info = env.step(action)
            steps.append(Step(index, obs, action, executed=dict(info), reward=float(reward)))
            obs = next_obs
            if done:
                assert not detour, f"the detour itself ended the episode at {action}"
                return reward > 0, steps
        return False, steps
    finally:
        env.close()


def seed_where(suite: MiniWoBSuite, family: str, wanted: Callable[[dict[str, str]], bool]) -> int:
    return next(s for s in SEEDS if wanted(suite.make_task(family, s).spec["fields"]))


def scroll(direction: str = "down") -> Move:
    # Over the pane; a pane at its end scrolls the page, which a short viewport needs.
    return lambda obs, task: Scroll(direction, box=PANE_POINT)


def press(key: str) -> Move:
    return lambda obs, task: Press(key)


def type_text(text: str) -> Move:
    return lambda obs, task: Type(text)


def click_text(text: str) -> Move:
    return lambda obs, task: click(first(find(obs, text=text)))


def test_email_inbox_after_replying_to_the_wrong_email(miniwob_suite):  # noqa: F811
    seed = seed_where(miniwob_suite, "email-inbox", lambda f: f["task"] == "reply")

    def wrong_email(obs: Observation, task: Task) -> Action:
        senders = find(obs, tag="div")[::3]  # each thread: sender, subject, body
        return click(first(s for s in senders if s.text != task.spec["fields"]["by"]))

    moves = [wrong_email, scroll(), click_text("Reply"),
             lambda obs, task: click(first(find(obs, tag="textarea"))), type_text("Wrong text.")]
    success, steps = after_detour(miniwob_suite, "email-inbox", seed, moves)
    assert success, [s.action for s in steps]


def test_search_engine_after_a_wrong_search(miniwob_suite):  # noqa: F811
    moves = [lambda obs, task: click(first(find(obs, tag="input_text"))), type_text("zzz"),
             click_text("Search"), scroll(), click_text("2")]
    success, steps = after_detour(miniwob_suite, "search-engine", SEEDS[0], moves)
    assert success, [s.action for s in steps]


def test_social_media_after_another_menu_and_a_scroll(miniwob_suite):  # noqa: F811
    seed = seed_where(miniwob_suite, "social-media", lambda f: f["button"] in ("Mute", "Report"))

    def other_menu(obs: Observation, task: Task) -> Action:
        handles = [e for e in find(obs, tag="span") if e.text.startswith("@")]
        other = first(h for h in handles if h.text != task.spec["fields"]["user"])
        name = obs.elements[obs.elements.index(other) - 1]
        box = px_box(name.box, *TWEET_ICONS["more"])
        return Click(*box.center, target=f"more icon of {other.text}", box=box)

    moves = [other_menu, scroll(), scroll(), scroll()]
    success, steps = after_detour(miniwob_suite, "social-media", seed, moves)
    assert success, [s.action for s in steps]


def test_book_flight_after_a_wrong_airport_and_month(miniwob_suite):  # noqa: F811
    seed = seed_where(miniwob_suite, "book-flight", lambda f: "ABQ" not in f["from"]
                      and "Albuquerque" not in f["from"])

    def field(index: int) -> Move:  # 0 From, 1 To, 2 the date
        return lambda obs, task: click(find(obs, tag="input_text")[index])

    moves = [field(0), type_text("(ABQ)"), press("down"), press("down"), press("tab"),
             field(2), click_text("Prev"), click_text("Prev")]
    success, steps = after_detour(miniwob_suite, "book-flight", seed, moves)
    assert success, [s.action for s in steps]
