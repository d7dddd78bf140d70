"""Experts for MiniWoB's form pages: buttons, checkboxes, text fields, tabs, autocomplete.

Each expert re-reads the page on every step and returns the one action that moves it
toward the goal, so it recovers from whatever a planner did before it (wrong text
typed, wrong boxes ticked, another tab open). `history` is read only for what the page
does not show: whether ctrl+a just selected a field's text, which tab was clicked last,
and whether the autocomplete widget may still have a search pending.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracer1.actions import Action, Click, Done, Press, Type
from tracer1.experts.miniwob import expert_for
from tracer1.experts.miniwob.dom import (
    click,
    click_in_view,
    fill,
    find,
    first,
    in_view,
    text_right_of,
)
from tracer1.rewards.text import normalize_key
from tracer1.trajectory import Element, Observation, Step, Task


@expert_for("click-button")
def click_button(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    # Several buttons may carry the target text: the page rewards any of them.
    target = task.spec["fields"]["target"]
    button = first(find(obs, text=target, tag="button"))
    return Done() if button is None else click_in_view(button, history)


# ---------------------------------------------------------------------- checkboxes


def checkbox_targets(fields: dict[str, str]) -> set[str]:
    """The names to tick, from MiniWoB's fields (``target 0``, ``target 1``, ...).

    >>> sorted(checkbox_targets({"target 0": "HF2", "target 1": "x", "button": "submit"}))
    ['HF2', 'x']
    >>> checkbox_targets({"button": "submit"})
    set()
    """
    return {v for k, v in fields.items() if k.startswith("target")}


@expert_for("click-checkboxes")
def click_checkboxes(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """Toggle every box whose state disagrees with the instruction, top to bottom; submit."""
    wanted = checkbox_targets(task.spec["fields"])
    for box in sorted(find(obs, tag="input_checkbox"), key=lambda e: e.box.top):
        label = text_right_of(obs, box)
        name = label.text if label is not None else ""
        if (box.text == "checked") != (name in wanted):
            return click_in_view(box, history, f"{name} checkbox")
    submit = first(find(obs, text="Submit", tag="button"))
    return Done() if submit is None else click_in_view(submit, history)


# ---------------------------------------------------------------------- text fields


@expert_for("enter-text")
def enter_text(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    field = first(find(obs, tag="input_text"))
    submit = first(find(obs, text="Submit", tag="button"))
    if field is None or submit is None:
        return Done()
    return (fill(obs, field, task.spec["fields"]["target"], history, "text field")
            or click_in_view(submit, history))


@expert_for("login-user")
def login_user(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    fields = task.spec["fields"]
    user = first(find(obs, tag="input_text"))
    password = first(find(obs, tag="input_password"))
    login = first(find(obs, text="Login", tag="button"))
    if user is None or password is None or login is None:
        return Done()
    return (fill(obs, user, fields["username"], history, "Username field")
            or fill(obs, password, fields["password"], history, "Password field")
            or click_in_view(login, history))


# ---------------------------------------------------------------------- tabs


def _clicked_point(step: Step) -> tuple[float, float] | None:
    if not isinstance(step.action, Click):
        return None
    point = step.executed.get("point") or (step.action.x, step.action.y)
    return float(point[0]), float(point[1])


def open_tab(tabs: Sequence[Element], history: Sequence[Step]) -> int:
    """Index of the tab on show: the last one clicked (`history`), else the first.

    jQuery UI marks the active tab with a class the observation does not carry, so
    the clicks are the only record of it.

    >>> from tracer1.actions import Box, Click
    >>> tabs = [Element(str(i), "a", f"Tab #{i + 1}", Box(100 * i, 0, 100 * i + 90, 50))
    ...         for i in range(3)]
    >>> open_tab(tabs, [Step(0, Observation(), Click(150, 20))])
    1
    >>> open_tab(tabs, [Step(0, Observation(), Click(150, 20)), Step(1, Observation(),
    ...                                                                Click(500, 500))])
    1
    >>> open_tab(tabs, [])
    0
    """
    for step in reversed(history):
        point = _clicked_point(step)
        for index, tab in enumerate(tabs):
            if point is not None and tab.box.contains(*point):
                return index
    return 0


@expert_for("click-tab-2")
def click_tab_2(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """Click the link if the open tab shows it; else open the next tab (they cycle)."""
    link = first(find(obs, text=task.spec["fields"]["target"], tag="span"))
    if link is not None:
        return click_in_view(link, history, f"{link.text} link")
    tabs = sorted((e for e in find(obs, tag="a") if e.text.startswith("Tab #")),
                  key=lambda e: e.box.left)
    if not tabs:
        return Done()
    return click_in_view(tabs[(open_tab(tabs, history) + 1) % len(tabs)], history)


# ---------------------------------------------------------------------- autocomplete
#
# jQuery UI's autocomplete searches 300 ms after the last keystroke, faster than a
# scripted step, and an ArrowDown on a closed menu searches at once. A search that
# fires late rebuilds the menu for whatever the field holds by then, which undoes a
# keyboard selection; and the menu of the previous episode may still be open after a
# reset. So the expert closes the menu by blurring the field (a click on its label:
# blur cancels the pending search) before relying on the menu, opens it with
# ArrowDown, and takes an item by clicking it or, when it hangs below the screen,
# by stepping through the list with ArrowUp (the field shows the item in focus).

# Keys the widget handles itself; any other key (arrows left/right included) arms a search.
_MENU_KEYS = {"up", "down", "pageup", "pagedown", "enter", "escape"}


def autocomplete_ok(value: str, fields: dict[str, str]) -> bool:
    """Whether the page accepts `value`: its start, and its end when the task names one.

    >>> autocomplete_ok("Angola", {"start": "An", "end": "la"})
    True
    >>> autocomplete_ok("Andorra", {"start": "An", "end": "la"})
    False
    >>> autocomplete_ok("An", {"start": "An"})  # no end named: the start alone will do
    True
    """
    return value.startswith(fields["start"]) and value.endswith(fields.get("end", ""))


def search_pending(history: Sequence[Step], field: Element) -> bool:
    """Whether an edit since the field last lost focus may still trigger a search.

    Typing arms the widget's search timer; only a blur (a click on anything but the
    field or its menu, or Tab) cancels it. Clicks on the menu keep the field focused.

    >>> from tracer1.actions import Box, Click, Press, Type
    >>> field = Element("5", "input_text", "", Box(0, 0, 10, 10))
    >>> label = Element("4", "label", "Tags:", Box(0, 20, 10, 30))
    >>> obs = Observation(elements=(field, label))
    >>> search_pending([Step(0, obs, Type("An"))], field)
    True
    >>> search_pending([Step(0, obs, Type("An")), Step(1, obs, Click(5, 25),
    ...                 executed={"element": "4"})], field)
    False
    >>> search_pending([Step(0, obs, Type("An")), Step(1, obs, Press("down"))], field)
    True
    """
    for step in reversed(history):
        action = step.action
        if isinstance(action, Type):
            return True
        if isinstance(action, Press):
            key = normalize_key(action.key)
            if key == "tab":
                return False
            if key not in _MENU_KEYS:
                return True
        elif isinstance(action, Click):
            ref = step.executed.get("element")
            hit = first(e for e in step.observation.elements if e.ref == ref)
            if hit is None or not (hit.ref == field.ref or _is_menu_item(hit, field)):
                return False
    return False


def _is_menu_item(element: Element, field: Element) -> bool:
    # Menu items are the only divs with text below the field; the widget's live
    # region (a status line for screen readers) is a zero-width div: not an item.
    return (element.tag == "div" and element.box.top >= field.box.bottom - 5
            and element.box.right > element.box.left)


@expert_for("use-autocomplete")
def use_autocomplete(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """Get a value the page accepts into the field, with the menu closed; then submit."""
    fields = task.spec["fields"]
    start = fields["start"]
    field = first(find(obs, tag="input_text"))
    label = first(find(obs, tag="label"))
    submit = first(find(obs, text="Submit", tag="button"))
    if field is None or label is None or submit is None:
        return Done()
    menu = [e for e in obs.elements if _is_menu_item(e, field)]
    pending = search_pending(history, field)
    blur = click(label, "Tags: label (closes the menu)")
    if autocomplete_ok(field.text, fields):
        # An open menu hides the Submit button; a pending search would reopen it.
        return blur if menu or pending else click_in_view(submit, history)
    if any(not item.text.lower().startswith(start.lower()) for item in menu):
        return blur  # a menu for other text (the last episode's, or a detour's)
    if menu:
        good = first(item for item in menu if autocomplete_ok(item.text, fields) and in_view(item))
        if good is not None:
            return click(good, f"{good.text} suggestion")
        if not pending and field.text.lower().startswith(start.lower()):
            return Press("up")  # the match lies below the screen: walk up from the end
        return blur
    edit = fill(obs, field, start, history, "Tags field")
    if edit is not None:
        return edit
    return blur if pending else Press("down")


__all__ = [
    "autocomplete_ok",
    "checkbox_targets",
    "open_tab",
    "search_pending",
]
