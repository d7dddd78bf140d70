"""MiniWoB++ in headless Chromium: the GUI suite.

`MiniWoBEnv` implements the Environment protocol over the task pages shipped in the
`miniwob` wheel, driven through Selenium on a browser leased from a `BrowserPool`
(one long-lived browser serves every task: switching task is a page load).

* **Observation**: the visible DOM elements (`tracer1.trajectory.Element`: ref, tag,
  text, box on the 0-1000 grid of the 160x210 task screen). An input's text is its
  value; a checkbox's or radio's is ``checked``/``unchecked``. `text` names the
  focused element. `screenshot()` returns the current screen as PNG bytes.
* **Actions**: click → a pointer move then a click at the point (the move triggers
  hover handlers first), type → keystrokes into the focused element, press → one key
  (``enter``, ``down``, ``ctrl+a``, ...), scroll → the mouse wheel at the target box's
  centre (the screen centre without one), select → keystrokes into the focused
  `<select>`, done → give up. Tool calls and answers are invalid here: recorded as an
  error, nothing executes.
* **info**: ``{"verb", "point": [x, y] | None, "element": ref | None, "text", "key",
  "direction", "ok"}`` — what the frozen executor did, in the grid units the grounded
  reward reads (`tracer1.rewards.grounded`).
* **Reward**: 1.0 when the page ends the episode with a positive raw reward, else 0.
  MiniWoB's wall-clock episode limit (10 s on most tasks) is lifted: a planner thinking
  on a CPU must not time out; the step budget bounds episodes instead.

Determinism: a task is a page plus a seed (`Math.seedrandom`), so reset + replaying the
same actions reproduces a state (`tracer1.envs.base.restore`). The page is also made to
settle before every observation (`settle_page`): jQuery animations are off, jQuery UI's
autocomplete answers without its 300 ms delay, and the page's pending zero-delay timers,
two animation frames and its fonts are waited for, so the elements and the screenshot
of a state do not depend on how fast the machine is (book-flight's suggestions and
datepicker otherwise appear in some runs and not in others). The environment leans on
this itself when its browser crashes or hangs mid-episode: it restores the episode on a
fresh browser and carries on (see `MiniWoBEnv`).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tracer1.actions import Action, Answer, Box, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.envs.base import StepResult, episode_limit
from tracer1.envs.browser import BrowserFailure, browser_errors
from tracer1.trajectory import Element, Observation, Task

logger = logging.getLogger(__name__)

SCREEN_W, SCREEN_H = 160, 210  # MiniWoB's task screen in CSS pixels (instruction bar on top)
WINDOW = (500, 320)  # browser window; the task screen sits at its top-left corner
GRID = 1000
MAX_STEPS = 30
EPISODE_TIME_MS = 3_600_000  # the page's own timer, lifted to an hour
READY_TIMEOUT_S = 5.0
# Keys as WebDriver names them (miniwob.constants.WEBDRIVER_SPECIAL_KEYS); our names are
# `tracer1.rewards.text.normalize_key`'s.
_SPECIAL_KEYS = {
    "enter": "<Enter>", "tab": "<Tab>", "backspace": "<Backspace>", "delete": "<Delete>",
    "escape": "<Escape>", "space": "<Space>", "up": "<ArrowUp>", "down": "<ArrowDown>",
    "left": "<ArrowLeft>", "right": "<ArrowRight>", "pageup": "<PageUp>",
    "pagedown": "<PageDown>", "home": "<Home>", "end": "<End>",
}
_MODIFIERS = {"ctrl": "C-", "shift": "S-", "alt": "A-", "meta": "M-"}
_INVALID = ("error: {verb}() is not a GUI action; act with click/type/press/scroll/select, "
            "or done() to give up")
_SCROLL_PX = 50


def to_grid(left: float, top: float, width: float, height: float) -> Box:
    """A CSS-pixel rectangle of the task screen → a box on the 0-1000 grid (clipped).

    >>> to_grid(2, 52, 30.8, 21)
    Box(left=12, top=248, right=205, bottom=348)
    """

    def gx(v: float) -> int:
        return max(0, min(GRID, round(v * GRID / SCREEN_W)))

    def gy(v: float) -> int:
        return max(0, min(GRID, round(v * GRID / SCREEN_H)))

    return Box(gx(left), gy(top), gx(left + width), gy(top + height))


def to_pixels(x: float, y: float) -> tuple[float, float]:
    """A grid point → CSS pixels of the task screen (clamped into the screen).

    >>> to_pixels(500, 500)
    (80.0, 105.0)
    """
    x = min(max(float(x), 0.0), GRID)
    y = min(max(float(y), 0.0), GRID)
    return min(x * SCREEN_W / GRID, SCREEN_W - 0.5), min(y * SCREEN_H / GRID, SCREEN_H - 0.5)


def to_key(key: str) -> str:
    """Our key name → MiniWoB's WebDriver key syntax (`C-a`, `<Enter>`, `x`).

    >>> to_key("Enter"), to_key("ctrl+a"), to_key("ArrowDown"), to_key("b")
    ('<Enter>', 'C-a', '<ArrowDown>', 'b')
    """
    from tracer1.rewards.text import normalize_key

    *mods, last = normalize_key(key).split("+")
    prefix = "".join(_MODIFIERS.get(m, "") for m in mods)
    return prefix + _SPECIAL_KEYS.get(last, last)


def pressable(key: str) -> bool:
    """Whether WebDriver can press `to_key(key)`: one character or a named key, after the
    modifiers. A planner's made-up key (``press(key="tuefgk")``) is an invalid action, not
    something to send: the driver rejects it as an error that looks like a dead browser.

    >>> pressable("Enter"), pressable("ctrl+a"), pressable("tuefgk"), pressable("")
    (True, True, False, False)
    """
    from miniwob.constants import WEBDRIVER_MODIFIER_KEYS, WEBDRIVER_SPECIAL_KEYS

    raw = to_key(key)
    while raw[:2] in WEBDRIVER_MODIFIER_KEYS:
        raw = raw[2:]
    return len(raw) == 1 or raw in WEBDRIVER_SPECIAL_KEYS


def _blank_info(action: Action) -> dict[str, Any]:
    return {"verb": action.verb, "point": None, "element": None, "text": None, "key": None,
            "direction": None, "ok": True}


def _brief(exc: BaseException) -> str:
    """An exception in one line: WebDriver messages run to a stack trace."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def _flatten(node: dict[str, Any] | None, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if node is not None:
        out.append(node)
        for child in node.get("children") or ():
            _flatten(child, out)
    return out


_CONTAINERS = {"body", "div", "span", "form", "ul", "ol", "table", "tbody", "tr", "p"}


def elements_from_dom(root: dict[str, Any]) -> tuple[tuple[Element, ...], str | None]:
    """MiniWoB's DOM info tree → the planner's elements and the focused element's ref.

    Kept: elements with their own text, inputs, and leaf elements with an area inside the
    task screen. Dropped: empty layout containers (body, the task wrappers).
    """
    elements, focused = [], None
    for node in _flatten(root, []):
        tag = str(node.get("tag", "")).lower()
        width, height = float(node.get("width", 0)), float(node.get("height", 0))
        left, top = float(node.get("left", 0)), float(node.get("top", 0))
        if width <= 0 or height <= 0 or left >= SCREEN_W or top >= SCREEN_H:
            continue
        text = str(node.get("text") or "").strip()
        if "value" in node:
            value = node["value"]
            text = ("checked" if value else "unchecked") if isinstance(value, bool) else str(value)
        is_input = tag.startswith(("input", "textarea", "select", "button"))
        if not text and not is_input and (tag in _CONTAINERS or node.get("children")):
            continue
        elements.append(Element(ref=str(node["ref"]), tag=tag, text=text,
                                box=to_grid(left, top, width, height)))
        if node.get("focused"):  # only a kept element: the page body is not worth naming
            focused = str(node["ref"])
    return tuple(elements), focused


class MiniWoBEnv:
    """One MiniWoB episode at a time on a browser leased from `pool` (returned on close).

    A browser that crashes or hangs (a WebDriver call raising one of `browser_errors()`)
    costs a restart, not the evaluation: the env swaps its lease for a fresh browser
    (`pool.replace`), restores the episode there by reset + replaying the actions it has
    executed, and retries the call once. A step that fails again ends the episode as
    failed (``done``, reward 0, ``info["error"]``); a reset that fails again raises.
    """

    def __init__(self, pool: Any, max_steps: int = MAX_STEPS, settle_ms: float = 0.0,
                 step_limits: Mapping[int, int] | None = None):
        """`max_steps` bounds every episode; `step_limits` (task difficulty → steps) bounds
        the episodes of easier pages tighter, so a lost planner does not click a one-step
        page for `max_steps` steps."""
        self.pool = pool
        self.max_steps = max_steps
        self.settle_ms = settle_ms
        self.step_limits = dict(step_limits or {})
        self._limit = max_steps
        self._lease: Any = None
        self._task: Task | None = None
        self._actions: list[Action] = []  # executed this episode: the replay that restores it
        self._elements: tuple[Element, ...] = ()
        self._focused: str | None = None
        self._error: str | None = None
        self._steps = 0
        self._done = True

    # ------------------------------------------------------------------ protocol

    def reset(self, task: Task) -> Observation:
        if task.suite != "miniwob":
            raise ValueError(f"task {task.task_id!r} is not a MiniWoB task (suite {task.suite!r})")
        self._task, self._actions, self._steps, self._done = task, [], 0, True
        self._limit = episode_limit(self.step_limits, task.difficulty, self.max_steps)
        try:
            obs = self._begin()
        except browser_errors() as exc:
            self._swap_browser("reset", exc)
            try:
                obs = self._begin()
            except browser_errors() as again:
                logger.warning("MiniWoB %s: reset failed on a fresh browser too (%s)",
                               task.task_id, _brief(again))
                self._drop_browser()
                raise
        self._done = False
        return obs

    def step(self, action: Action) -> StepResult:
        if self._task is None or self._done:
            raise RuntimeError("the episode is over (or never started): call reset(task) first")
        try:
            return self._step(action)
        except browser_errors() as exc:
            first = exc
        try:
            self._swap_browser(f"{action.verb}()", first)
            self._replay()
            return self._step(action)
        except browser_errors() as exc:
            return self._fail(action, first, exc)

    def close(self) -> None:
        if self._lease is not None:
            self.pool.release(self._lease)
            self._lease = None

    def screenshot(self) -> bytes:
        """The task screen now, as PNG bytes (160x210); restores the episode once if the
        browser has died since the last step."""
        try:
            return self._screenshot()
        except browser_errors() as exc:
            if self._task is None:
                raise
            self._swap_browser("screenshot", exc)
            self._replay()
            return self._screenshot()

    # ------------------------------------------------------------------ recovery

    def _swap_browser(self, what: str, exc: BaseException) -> None:
        task = self._task.task_id if self._task is not None else "?"
        logger.warning("MiniWoB %s: the browser failed during %s (%s); restarting it and "
                       "replaying %d action(s)", task, what, _brief(exc), len(self._actions))
        self._lease = self.pool.replace(self._lease) if self._lease is not None else None

    def _drop_browser(self) -> None:
        if self._lease is not None:
            self.pool.release(self._lease, healthy=False)
            self._lease = None

    def _replay(self) -> None:
        """Bring a fresh browser to this episode's state: reset, then every executed action.

        Each replayed action is observed as it was live: `getDOMInfo` numbers elements
        as it first meets them, so skipping it would renumber the refs.
        """
        self._begin()
        for action in self._actions:
            self._execute(action)
            self._observe()

    def _fail(self, action: Action, first: BaseException, second: BaseException) -> StepResult:
        task = self._task.task_id if self._task is not None else "?"
        error = (f"browser failed twice on {action.verb}(): {_brief(first)}; "
                 f"after a restart: {_brief(second)}")
        logger.warning("MiniWoB %s: %s; the episode ends as failed", task, error)
        self._drop_browser()
        self._done, self._error = True, None
        info = {**_blank_info(action), "ok": False, "error": error}
        return Observation(text="(episode over)"), 0.0, True, info

    # ------------------------------------------------------------------ internals

    def _begin(self) -> Observation:
        """Load the task's page on the leased browser (leasing one first) and start the
        seeded episode."""
        assert self._task is not None
        self._error = None
        start_episode(self._driver_for(self._task.family), self._task.seed)
        return self._observe()

    def _step(self, action: Action) -> StepResult:
        # State changes only once every browser call has succeeded: a failure midway
        # leaves the episode as it was, for a replay to restore.
        info, meta = self._execute(action)
        steps, done, reward = self._steps + 1, bool(meta["done"]), 0.0
        if isinstance(action, Done) and not done:
            done = True  # the planner gave up
        elif done:
            reward = 1.0 if float(meta.get("raw_reward") or 0) > 0 else 0.0
            info["page_reward"] = float(meta.get("raw_reward") or 0)
        if not done and steps >= self._limit:
            done, info["truncated"] = True, True
        obs = Observation(text="(episode over)") if done else self._observe()
        self._steps, self._done = steps, done
        self._actions.append(action)
        return obs, reward, done, info

    def _execute(self, action: Action) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run one action on the page: (info, the page's episode status after it)."""
        handler = self._HANDLERS.get(type(action), MiniWoBEnv._step_invalid)
        info = _blank_info(action)
        info.update(handler(self, action))
        if self.settle_ms:
            time.sleep(self.settle_ms / 1000)
        settle_page(self._lease.driver)
        return info, episode_status(self._lease.driver)

    def _screenshot(self) -> bytes:
        from PIL import Image

        png = self._lease.driver.get_screenshot_as_png()
        image = Image.open(io.BytesIO(png)).convert("RGB")
        # Screenshots come at the device pixel ratio; the task screen is the top-left corner.
        ratio = image.size[0] / WINDOW[0] if image.size[0] > WINDOW[0] else 1.0
        image = image.crop((0, 0, round(SCREEN_W * ratio), round(SCREEN_H * ratio)))
        image = image.resize((SCREEN_W, SCREEN_H))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()

    def _driver_for(self, family: str) -> Any:
        if self._lease is None:
            self._lease = self.pool.lease()
        if self._lease.page != family:
            self._lease.page = None  # a load that fails midway leaves no page to trust
            open_task_page(self._lease.driver, family)
            self._lease.page = family
        return self._lease.driver

    def _observe(self) -> Observation:
        root = self._lease.driver.execute_script("return core.getDOMInfo();")
        self._elements, self._focused = elements_from_dom(root)
        lines = []
        if self._focused is not None:
            lines.append(f"Focused: [{self._focused}]")
        if self._error:
            lines.append(self._error)
            self._error = None
        return Observation(text="\n".join(lines), elements=self._elements)

    def _element_at(self, px: float, py: float) -> str | None:
        ref = self._lease.driver.execute_script(
            "var e = document.elementFromPoint(arguments[0], arguments[1]);"
            "while (e && (e.dataset === undefined || e.dataset.wob_ref === undefined))"
            "  e = e.parentElement;"
            "return e ? e.dataset.wob_ref : null;", px, py)
        return None if ref is None else str(ref)

    def _focused_point(self) -> list[int] | None:
        for e in self._elements:
            if e.ref == self._focused:
                return list(e.box.center)
        return None

    def _step_click(self, action: Click) -> dict[str, Any]:
        from miniwob.selenium_actions import execute_click_coords, execute_move_coords

        px, py = to_pixels(action.x, action.y)
        element = self._element_at(px, py)
        driver = self._lease.driver
        execute_move_coords(px, py, driver)  # hover first: some pages react to mouseover
        execute_click_coords(px, py, driver)
        return {"point": [action.x, action.y], "element": element}

    def _step_type(self, action: Type | Select) -> dict[str, Any]:
        from miniwob.selenium_actions import execute_type_text

        execute_type_text(action.text, self._lease.driver)
        return {"point": self._focused_point(), "element": self._focused, "text": action.text}

    def _step_press(self, action: Press) -> dict[str, Any]:
        from miniwob.selenium_actions import execute_press_key

        if not pressable(action.key):
            self._error = f"error: press(): no key named {action.key!r}"
            return {"ok": False, "output": self._error, "key": action.key}
        execute_press_key(to_key(action.key), self._lease.driver)
        return {"key": action.key, "element": self._focused}

    def _step_scroll(self, action: Scroll) -> dict[str, Any]:
        from miniwob.selenium_actions import execute_scroll_coords

        x, y = action.box.center if action.box is not None else (GRID // 2, GRID // 2)
        px, py = to_pixels(x, y)
        dy = {"down": _SCROLL_PX, "up": -_SCROLL_PX}.get(action.direction, 0)
        execute_scroll_coords(px, py, dy, 150, self._lease.driver)
        return {"point": [x, y], "element": self._element_at(px, py),
                "direction": action.direction}

    def _step_done(self, action: Done) -> dict[str, Any]:
        return {}

    def _step_invalid(self, action: Action) -> dict[str, Any]:
        self._error = _INVALID.format(verb=action.verb)
        return {"ok": False, "output": self._error}

    _HANDLERS: dict[type, Callable[..., dict[str, Any]]] = {
        Click: _step_click,
        Type: _step_type,
        Select: _step_type,
        Press: _step_press,
        Scroll: _step_scroll,
        Done: _step_done,
        Tool: _step_invalid,
        Answer: _step_invalid,
    }


# ---------------------------------------------------------------------- page control


def task_url(family: str) -> str:
    from miniwob.selenium_instance import DEFAULT_BASE_URL

    return f"{DEFAULT_BASE_URL}{family}.html"


def open_task_page(driver: Any, family: str) -> None:
    """Load a task's page and wait for MiniWoB's start screen."""
    driver.get(task_url(family))
    deadline = time.monotonic() + READY_TIMEOUT_S
    loaded = "return typeof core !== 'undefined' && !!core.startEpisodeReal;"
    while not driver.execute_script(loaded):
        if time.monotonic() > deadline:
            raise BrowserFailure(f"MiniWoB task page {family!r} did not load")
        time.sleep(0.05)


def start_episode(driver: Any, seed: int) -> None:
    """Seed the page's generator and start an episode, without MiniWoB's wall-clock limit."""
    driver.execute_script(
        "core.endEpisode(0); core.EPISODE_MAX_TIME = arguments[1];"
        "Math.seedrandom(arguments[0]); core.setDataMode('train'); core.startEpisodeReal();",
        seed, EPISODE_TIME_MS)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not driver.execute_script("return WOB_TASK_READY;"):
        if time.monotonic() > deadline:
            raise BrowserFailure("MiniWoB task did not become ready")
        time.sleep(0.02)
    settle_page(driver)


# jQuery UI widgets are created by the task's own setup, so they are tuned on every
# settle (a few microseconds) rather than once per page. The fallback timer only guards
# against a page whose animation frames never come (a hidden tab); it never decides a
# normal settle.
_SETTLE_JS = """
var done = arguments[arguments.length - 1], finished = false;
function finish() { if (!finished) { finished = true; done(true); } }
if (window.jQuery) {
  jQuery.fx.off = true;
  jQuery('.ui-autocomplete-input').each(function () {
    try { jQuery(this).autocomplete('option', 'delay', 0); } catch (e) {}
  });
}
setTimeout(function () {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    var fonts = document.fonts ? document.fonts.ready : Promise.resolve();
    fonts.then(finish, finish);
  }); });
}, 0);
setTimeout(finish, 2000);
"""


def settle_page(driver: Any) -> None:
    """Let the page finish what the last input started (see the module docstring)."""
    driver.execute_async_script(_SETTLE_JS)


def episode_status(driver: Any) -> dict[str, Any]:
    return driver.execute_script(
        "return {done: WOB_DONE_GLOBAL, raw_reward: WOB_RAW_REWARD_GLOBAL,"
        " reason: WOB_REWARD_REASON};")


def read_utterance(driver: Any) -> tuple[str, dict[str, str]]:
    """The current episode's instruction and its fields (MiniWoB's parse of it, per page)."""
    from miniwob.fields import get_field_extractor

    response = driver.execute_script("return core.getUtterance();")
    if isinstance(response, dict):  # pages that generate their fields themselves
        utterance, fields = str(response["utterance"]), list(response["fields"].items())
    else:
        utterance = str(response)
        page = driver.execute_script("return location.pathname.split('/').pop();")
        fields = get_field_extractor(page.removesuffix(".html"))(utterance)
    return utterance, {str(k): str(v) for k, v in fields}


def supported_families() -> Sequence[str]:
    """Every MiniWoB page in the installed wheel (experts exist for a subset)."""
    from miniwob.selenium_instance import HTML_DIR

    return sorted(p.stem for p in (HTML_DIR / "miniwob").glob("*.html"))


__all__ = [
    "MiniWoBEnv",
    "elements_from_dom",
    "episode_status",
    "open_task_page",
    "read_utterance",
    "start_episode",
    "to_grid",
    "to_key",
    "to_pixels",
]
