"""The MiniWoB form experts' decisions on hand-built observations (no browser).

The layouts copy what the real pages render (boxes on the 0-1000 grid), so each test
pins one rule of an expert: what it does in a state a planner may leave behind.
"""

from __future__ import annotations

from tracer1.actions import Box, Click, Done, Press, Scroll, Type
from tracer1.experts.miniwob import dom, expert_families
from tracer1.experts.miniwob.dom import click_in_view, fill, text_right_of
from tracer1.experts.miniwob.forms import (
    autocomplete_ok,
    checkbox_targets,
    click_checkboxes,
    click_tab_2,
    enter_text,
    login_user,
    open_tab,
    search_pending,
    use_autocomplete,
)
from tracer1.trajectory import Element, Observation, Step, Task

FORMS = ["click-button", "click-checkboxes", "click-tab-2", "enter-text", "login-user",
         "use-autocomplete"]


def task(family: str, **fields: str) -> Task:
    return Task(task_id=f"miniwob/{family}/s0", suite="miniwob", family=family, seed=0,
                instruction="", spec={"fields": fields})


def obs(*elements: Element, focused: str | None = None) -> Observation:
    return Observation(f"Focused: [{focused}]" if focused else "", tuple(elements))


def step(observation: Observation, action, **executed) -> Step:
    return Step(0, observation, action, executed=executed)


def test_every_form_page_has_an_expert():
    assert set(FORMS) <= set(expert_families())


# ---------------------------------------------------------------------- helpers


def test_checkbox_targets_and_autocomplete_rule():
    assert checkbox_targets({"target 0": "a", "target 1": "b2", "button": "submit"}) == {"a", "b2"}
    assert checkbox_targets({"button": "submit"}) == set()
    fields = {"start": "Gua", "end": "la"}
    assert autocomplete_ok("Guatemala", fields)
    assert not autocomplete_ok("Guadeloupe", fields)
    assert not autocomplete_ok("guatemala", fields)  # the page compares case-sensitively
    assert autocomplete_ok("Gua", {"start": "Gua"})


def test_text_right_of_takes_the_nearest_label_on_the_row():
    box = Element("6", "input_checkbox", "unchecked", Box(38, 262, 162, 324))
    near = Element("-1", "t", "AU", Box(181, 281, 268, 333))
    far = Element("-3", "t", "far", Box(400, 281, 500, 333))
    below = Element("-2", "t", "HF2", Box(181, 371, 299, 424))
    assert text_right_of(obs(box, far, near, below), box) == near
    assert text_right_of(obs(box, below), box) is None


def test_fill_focuses_selects_then_types():
    field = Element("5", "input_text", "wrong", Box(12, 252, 812, 352))
    assert isinstance(fill(obs(field), field, "Kenda", []), Click)
    focused = obs(field, focused="5")
    assert fill(focused, field, "Kenda", []) == Press("ctrl+a")
    typed = fill(focused, field, "Kenda", [step(focused, Press("Control+A"))])
    assert typed == Type("Kenda", target="wrong") and typed.box == field.box
    empty = Element("5", "input_text", "", field.box)
    assert fill(obs(empty, focused="5"), empty, "Kenda", []).text == "Kenda"


def test_click_in_view_scrolls_once_for_an_element_below_a_short_viewport(monkeypatch):
    low = Element("11", "button", "Login", Box(12, 790, 554, 938))
    assert click_in_view(low, []) == Click(283, 864, target="Login")  # the whole screen shows
    monkeypatch.setattr(dom, "VIEWPORT_BOTTOM", 842)  # a 177 px viewport
    assert click_in_view(low, []) == Scroll("down", target="page")
    after = click_in_view(low, [step(obs(low), Scroll("down"))])
    assert isinstance(after, Click) and low.box.top < after.y < 842  # the part that shows
    high = Element("6", "button", "Submit", Box(12, 405, 609, 552))
    assert click_in_view(high, []) == Click(310, 478, target="Submit")


# ---------------------------------------------------------------------- experts


def test_checkboxes_fixes_wrong_boxes_then_submits():
    t = task("click-checkboxes", **{"target 0": "HF2", "button": "submit"})
    rows = [
        Element("6", "input_checkbox", "checked", Box(38, 262, 162, 324)),  # AU: untick
        Element("-1", "t", "AU", Box(181, 281, 268, 333)),
        Element("8", "input_checkbox", "unchecked", Box(38, 352, 162, 414)),  # HF2: tick
        Element("-2", "t", "HF2", Box(181, 371, 299, 424)),
        Element("9", "button", "Submit", Box(12, 481, 609, 629)),
    ]
    first = click_checkboxes(t, obs(*rows), [])
    assert first.target == "AU checkbox" and first.box == rows[0].box
    rows[0] = Element("6", "input_checkbox", "unchecked", rows[0].box)
    assert click_checkboxes(t, obs(*rows), []).target == "HF2 checkbox"
    rows[2] = Element("8", "input_checkbox", "checked", rows[2].box)
    assert click_checkboxes(t, obs(*rows), []).target == "Submit"


def test_enter_text_and_login_submit_only_when_every_field_is_right():
    field = Element("5", "input_text", "Kenda", Box(12, 252, 812, 352))
    submit = Element("6", "button", "Submit", Box(12, 405, 609, 552))
    assert enter_text(task("enter-text", target="Kenda"), obs(field, submit), []).target == "Submit"
    assert enter_text(task("enter-text", target="Karrie"), obs(field, submit), []).verb == "click"
    user = Element("7", "input_text", "karrie", Box(44, 371, 844, 471))
    password = Element("10", "input_password", "x", Box(44, 619, 719, 719))
    login = Element("11", "button", "Login", Box(12, 790, 554, 938))
    t = task("login-user", username="karrie", password="AU")
    action = login_user(t, obs(user, password, login, focused="10"), [])
    assert action == Press("ctrl+a")  # the password is wrong: replace it
    right = Element("10", "input_password", "AU", password.box)
    assert login_user(t, obs(user, right, login), []).target == "Login"


def test_tabs_follow_the_last_tab_clicked():
    tabs = [Element(str(6 + 2 * i), "a", f"Tab #{i + 1}",
                    Box(44 + 275 * i, 276, 294 + 275 * i, 386)) for i in range(3)]
    assert open_tab(tabs, []) == 0
    on_third = [step(obs(*tabs), Click(700, 330), point=[700, 330])]
    assert open_tab(tabs, on_third) == 2
    t = task("click-tab-2", target="fauna")
    assert click_tab_2(t, obs(*tabs), []).target == "Tab #2"
    assert click_tab_2(t, obs(*tabs), on_third).target == "Tab #1"  # the tabs cycle
    link = Element("13", "span", "fauna", Box(317, 495, 546, 548))
    assert click_tab_2(t, obs(*tabs, link), on_third).target == "fauna link"
    assert click_tab_2(t, obs(), []) == Done()


# use-autocomplete: the page as it renders (label, field, Submit; menu items below).
LABEL = Element("4", "label", "Tags:", Box(62, 286, 212, 338))
SUBMIT = Element("6", "button", "Submit", Box(62, 462, 659, 610))
STATUS = Element("19", "div", "5 results are available", Box(0, 995, 0, 1000))
AUTO = task("use-autocomplete", start="An", end="ica")


def field(value: str) -> Element:
    return Element("5", "input_text", value, Box(62, 338, 862, 438))


def menu(*names: str) -> list[Element]:
    return [Element(str(10 + 2 * i), "div", name, Box(69, 443 + 105 * i, 856, 548 + 105 * i))
            for i, name in enumerate(names)]


def page(value: str, *items: Element) -> Observation:
    return obs(LABEL, field(value), SUBMIT, *items, STATUS, focused="5")


def test_autocomplete_types_the_start_then_opens_a_fresh_menu():
    assert use_autocomplete(AUTO, page(""), []) == Type("An", target="Tags field")
    typed = [step(page(""), Type("An"))]
    # A search may still be pending after typing: blur (click the label) first.
    assert use_autocomplete(AUTO, page("An"), typed).target.startswith("Tags: label")
    blurred = typed + [step(page("An"), Click(137, 312), element="4")]
    assert search_pending(blurred, field("An")) is False
    assert use_autocomplete(AUTO, page("An"), blurred) == Press("down")


def test_autocomplete_picks_a_visible_match_or_walks_up_to_a_hidden_one():
    blurred = [step(page("An"), Click(137, 312), element="4")]
    shown = page("An", *menu("Andorra", "Angola", "Antarctica"))
    assert use_autocomplete(AUTO, shown, blurred).target == "Antarctica suggestion"
    # The match is further down the list, below the screen (not observed): reach it
    # through the field, which shows the item in focus, with ArrowUp from the end.
    hidden = page("An", *menu("Andorra", "Angola", "Anguilla", "Antigua"))
    assert use_autocomplete(AUTO, hidden, blurred) == Press("up")


def test_autocomplete_closes_a_stale_menu_and_submits_a_right_value():
    stale = page("", *menu("Cuba", "Chad"))  # the previous episode's menu, still open
    assert use_autocomplete(AUTO, stale, []).target.startswith("Tags: label")
    done = page("Antarctica", *menu("Antarctica"))
    assert use_autocomplete(AUTO, done, []).target.startswith("Tags: label")  # hides Submit
    assert use_autocomplete(AUTO, page("Antarctica"), []).target == "Submit"
