"""Frozen GUI executors: turn a planner's GUI action into the action the environment runs.

The planner forecasts actions with a point *and* a `target` description
(``click(x=312, y=540, target="Submit")``). A frozen GUI executor decides which of
the two is executed; only the planner is trained, the executor never is:

* `PassthroughExecutor` - the planner's own point (grounding is the planner's job);
* `GroundingExecutor` - the centre of the observation element that the `target`
  describes (grounding is the executor's job, as with a separate grounding model);
* `HttpGroundingExecutor` (`tracer1.executors.grounding_http`) - a grounding model
  served behind an OpenAI-compatible endpoint (e.g. a UI-TARS-style model on vLLM).

`ExecutingEnv` puts an executor in front of any Environment, and `make_gui_executor`
builds one from a `GuiExecutorConfig` (a params section) through a registry.

What "resolving" moves, per action type: a click's ``(x, y)``; a scroll's `box` (the
environment scrolls at the box's centre, so the box is the scroll's only location).
Type, select and press act on the focused element and pass through unchanged: no
click-to-focus is added (focusing is a planned click of its own).

>>> from tracer1.actions import Box, Click
>>> from tracer1.trajectory import Element, Observation
>>> obs = Observation(elements=(Element("1", "button", "Submit", Box(400, 500, 600, 560)),))
>>> GroundingExecutor().resolve(Click(10, 10, target="submit"), obs)
Click(x=500, y=530, target='submit')
>>> PassthroughExecutor().resolve(Click(10, 10, target="submit"), obs)
Click(x=10, y=10, target='submit')
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tracer1.actions import MAX_TEXT_CHARS, Action, Box, Click, Scroll
from tracer1.rewards.text import token_f1, tokens
from tracer1.trajectory import Element, Observation, Task

if TYPE_CHECKING:  # at run time `tracer1.envs` imports the tool suites, which import us
    from tracer1.envs.base import Environment, StepResult

Point = tuple[int, int]


@runtime_checkable
class GuiExecutor(Protocol):
    """A frozen GUI agent: the planner's action + what the planner saw → the executed action."""

    def resolve(self, action: Action, observation: Observation) -> Action: ...


# ------------------------------------------------------------------ pure helpers


def planned_point(action: Action) -> Point | None:
    """Where the planner asked the action to happen: a click's point, a scroll's box centre.

    >>> planned_point(Click(3, 4)), planned_point(Scroll("down", box=Box(0, 0, 10, 20)))
    ((3, 4), (5, 10))
    >>> planned_point(Scroll("down")) is None
    True
    """
    if isinstance(action, Click):
        return action.x, action.y
    if isinstance(action, Scroll) and action.box is not None:
        return action.box.center
    return None


def groundable_target(action: Action) -> str | None:
    """The description to ground, for the actions whose location an executor may move.

    Only clicks and scrolls have a location; a blank description is no description.

    >>> groundable_target(Click(1, 2, target="  OK ")), groundable_target(Click(1, 2))
    ('OK', None)
    """
    if not isinstance(action, Click | Scroll) or action.target is None:
        return None
    return action.target.strip()[:MAX_TEXT_CHARS] or None


def move_to(action: Action, box: Box) -> Action:
    """`action` executed at `box`: a click at its centre, a scroll over it; others unchanged.

    >>> move_to(Click(1, 2, target="OK"), Box(10, 10, 20, 30))
    Click(x=15, y=20, target='OK')
    >>> move_to(Scroll("down"), Box(10, 10, 20, 30)).box
    Box(left=10, top=10, right=20, bottom=30)
    """
    if isinstance(action, Click):
        x, y = box.center
        return dataclasses.replace(action, x=x, y=y)
    if isinstance(action, Scroll):
        return dataclasses.replace(action, box=box)
    return action


_WS = re.compile(r"\s+")


def loose(text: str) -> str:
    """Case- and whitespace-insensitive form (NFKC, casefold, collapsed spaces).

    >>> loose("  Sign\\tIN  ")
    'sign in'
    """
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def label(element: Element) -> str:
    """How an element is named: its text, or its tag when it has none (the experts'
    `target` convention, `tracer1.experts.miniwob.dom.click`)."""
    return element.text or element.tag


def _overlap(target: str, element: Element) -> float:
    # The tag counts as a word of the element ("Submit button" ~ <button>Submit</button>),
    # but must not dilute a match on the text alone.
    text = token_f1(target, element.text) if element.text else 0.0
    return max(text, token_f1(target, f"{element.text} {element.tag}"))


def match_element(target: str, elements: Sequence[Element], near: Point | None = None,
                  min_overlap: float = 0.0) -> Element | None:
    """The element `target` describes, or None when nothing matches.

    Tiers, the first with a match wins: (1) exact: `target` equals the element's
    `label` (text, or tag for an element without text); (2) loose: equal after
    `loose` (case, whitespace, Unicode width); (3) overlap: the highest token F1
    (`tracer1.rewards.text.token_f1`, on normalised tokens) of `target` against the
    text, or against text plus tag - only above `min_overlap`. Ties within a tier go
    to the element whose box centre is nearest `near` (the planner's point, when
    there is one), then to the first in document order, so the choice is deterministic.
    A `label` stands for the form field it labels ("the Username field" is the input
    under the "Username" label, as a person reads the form): the nearest field at or
    below the label's top, when there is one.

    >>> ok = Element("1", "button", "OK", Box(0, 0, 100, 100))
    >>> ok2 = Element("2", "button", "OK", Box(800, 800, 900, 900))
    >>> name = Element("3", "input_text", "", Box(0, 200, 500, 260))
    >>> match_element("OK", [ok, ok2], near=(900, 900)).ref
    '2'
    >>> match_element("the name input_text field", [ok, ok2, name]).ref
    '3'
    >>> match_element("Cancel", [ok, ok2, name]) is None
    True
    >>> user = Element("4", "label", "Username", Box(0, 140, 300, 190))
    >>> match_element("Username field", [ok, user, name]).ref
    '3'
    """
    target = target[:MAX_TEXT_CHARS]
    if not target.strip() or not elements:
        return None
    wanted = loose(target)
    tiers: list[tuple[Callable[[Element], float], float]] = [
        (lambda e: float(label(e) == target), 0.0),
        (lambda e: float(loose(label(e)) == wanted), 0.0),
    ]
    if tokens(target):  # a description of only articles/punctuation overlaps nothing
        tiers.append((lambda e: _overlap(target, e), min_overlap))
    for score, floor in tiers:
        scored = [(s, i, e) for i, e in enumerate(elements) if (s := score(e)) > floor]
        if scored:
            best = max(s for s, _, _ in scored)
            tied = [(i, e) for s, i, e in scored if s == best]
            found = min(tied, key=lambda ie: (_distance2(ie[1].box, near), ie[0]))[1]
            return (_labelled_field(found, elements) or found) if found.tag == "label" else found
    return None


_FIELD_TAGS = ("input", "textarea", "select")


def _labelled_field(label: Element, elements: Sequence[Element]) -> Element | None:
    """The form field a label names: the nearest field starting at or below the label's
    top (a form puts the label before its field, above it or to its left)."""
    fields = [e for e in elements
              if e.tag.startswith(_FIELD_TAGS) and e.box.top >= label.box.top - 5]
    if not fields:
        return None
    return min(fields, key=lambda e: (e.box.top - label.box.top) ** 2
               + (e.box.left - label.box.left) ** 2)


def _distance2(box: Box, near: Point | None) -> int:
    if near is None:
        return 0
    cx, cy = box.center
    return (cx - near[0]) ** 2 + (cy - near[1]) ** 2


# ------------------------------------------------------------------ executors


class PassthroughExecutor:
    """Executes the planner's action as planned: the planner grounds its own clicks."""

    def resolve(self, action: Action, observation: Observation) -> Action:
        return action

    def __repr__(self) -> str:
        return "PassthroughExecutor()"


class GroundingExecutor:
    """Executes a click (scroll) at the element its `target` describes (`match_element`).

    Pure and stateless. The planner's point still matters: it breaks ties between
    equally good matches, and it is what executes when the action has no `target`
    or nothing in the observation matches it (the fallback is the planner's point,
    never a guess).
    """

    def __init__(self, min_overlap: float = 0.0):
        self.min_overlap = min_overlap

    def resolve(self, action: Action, observation: Observation) -> Action:
        target = groundable_target(action)
        if target is None:
            return action
        element = match_element(target, observation.elements, near=planned_point(action),
                                min_overlap=self.min_overlap)
        return action if element is None else move_to(action, element.box)

    def __repr__(self) -> str:
        return f"GroundingExecutor(min_overlap={self.min_overlap})"


class ExecutingEnv:
    """An Environment whose `step` runs the planner's action through a frozen GUI executor.

    It remembers the last observation (what the planner acted on) and executes
    ``executor.resolve(action, last_observation)``. The step's `info` is the wrapped
    environment's (what executed: ``point``, ``element``, ...) plus
    ``planned_point``: the planner's own ``[x, y]`` (None for actions without one), so
    a trajectory shows both what was asked and what ran. Every other attribute
    (``close``, ``screenshot`` when the wrapped env has one, ...) is the wrapped env's.
    """

    def __init__(self, env: Environment, executor: GuiExecutor):
        self.env = env
        self.executor = executor
        self._last = Observation()

    def reset(self, task: Task) -> Observation:
        self._last = self.env.reset(task)
        return self._last

    def step(self, action: Action) -> StepResult:
        executed = self.executor.resolve(action, self._last)
        obs, reward, done, info = self.env.step(executed)
        point = planned_point(action)
        info = {**info, "planned_point": None if point is None else list(point)}
        self._last = obs
        return obs, reward, done, info

    def close(self) -> None:
        self.env.close()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes ExecutingEnv lacks; `env` itself must exist first
        # (copy/pickle probe attributes before __init__ has run).
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class GuiExecutorConfig:
    """Which frozen GUI executor runs planner actions, and how to reach a served one."""

    kind: str = "passthrough"
    """``passthrough`` (the planner's point), ``grounding`` (the centre of the element
    the action's `target` describes) or ``http`` (a served grounding model)."""
    base_url: str = "http://127.0.0.1:8000/v1"
    """http: the OpenAI-compatible server, its root or its ``/v1`` (``/chat/completions``
    is appended)."""
    model: str = ""
    """http: the served model name (vLLM's ``--served-model-name``); required for http."""
    api_key_env: str | None = None
    """http: the *name* of the environment variable holding the API key, sent as a
    Bearer token (None or an unset variable: no key). Never the key itself."""
    timeout_s: float = 30.0
    """http: seconds one attempt may take (each socket wait, and the whole reply); the
    worst case per action is ``(retries + 1) * timeout_s`` plus the backoff sleeps."""
    retries: int = 2
    """http: extra attempts after a timeout, connection error, 429 or 5xx."""
    backoff_s: float = 1.0
    """http: sleep before retry k is ``backoff_s * 2**k`` seconds."""
    coordinate_scale: float = 1000.0
    """http: the range of the model's coordinates: 1000 for the 0-1000 grid (UI-TARS,
    Qwen-VL relative points), 1 for fractions of the screen; x and y alike."""
    screenshot_root: str | None = None
    """http: the directory observation screenshots are relative to (the trajectory
    directory); with it, the screenshot is sent as an image. None: elements only."""

    def __post_init__(self) -> None:
        if self.kind not in _FACTORIES:
            raise ValueError(f"kind: unknown GUI executor {self.kind!r} "
                             f"(known: {', '.join(_FACTORIES)})")
        if self.timeout_s <= 0 or self.coordinate_scale <= 0:
            raise ValueError("timeout_s and coordinate_scale must be > 0")
        if self.retries < 0 or self.backoff_s < 0:
            raise ValueError("retries and backoff_s must be >= 0")
        # A secret pasted where its variable's name belongs must fail - without echoing it.
        if self.api_key_env is not None and not _ENV_NAME.fullmatch(self.api_key_env):
            raise ValueError("api_key_env must name an environment variable "
                             "(letters, digits, _), not hold the key")
        if self.kind == "http" and not (self.base_url and self.model):
            raise ValueError("kind http needs base_url and model")


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _http(config: GuiExecutorConfig) -> GuiExecutor:
    # Imported here, not at the top: `grounding_http` builds on this module.
    from tracer1.executors.grounding_http import HttpGroundingExecutor

    return HttpGroundingExecutor.from_config(config)


_FACTORIES: dict[str, Callable[[GuiExecutorConfig], GuiExecutor]] = {
    "passthrough": lambda config: PassthroughExecutor(),
    "grounding": lambda config: GroundingExecutor(),
    "http": _http,
}


def make_gui_executor(config: GuiExecutorConfig | None = None) -> GuiExecutor:
    """The executor `config` names (default: passthrough).

    >>> make_gui_executor(GuiExecutorConfig(kind="grounding"))
    GroundingExecutor(min_overlap=0.0)
    """
    config = config or GuiExecutorConfig()
    return _FACTORIES[config.kind](config)


def gui_executor_kinds() -> list[str]:
    return list(_FACTORIES)


__all__ = [
    "ExecutingEnv",
    "GroundingExecutor",
    "GuiExecutor",
    "GuiExecutorConfig",
    "PassthroughExecutor",
    "groundable_target",
    "gui_executor_kinds",
    "label",
    "loose",
    "make_gui_executor",
    "match_element",
    "move_to",
    "planned_point",
]
