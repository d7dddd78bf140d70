"""Experts for MiniWoB's app pages: an email inbox, a search engine and a social feed.

Each expert re-reads the page on every step and returns the one action that moves it
toward the goal, so it picks up from whatever a planner did before it: the wrong email
open, a reply half typed, a wrong search run, another tweet's menu open. `history` is
read only where the page hides its state: which email a forward form came from, and
which search produced the results on show and which of their pages is open.

Content sits in scroll panes, and the icons these pages draw with CSS (trash, star,
send, like, ...) have no text, so the observation leaves them out: the experts place
them at their fixed offset from an element it keeps (`dom.px_box`) and click through
`dom.reach`, which scrolls the pane until the target shows.

The book-flight expert lives in `flight.py`, imported here so that it registers with
these pages.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracer1.actions import Action, Click, Done
from tracer1.experts.miniwob import expert_for, flight  # noqa: F401
from tracer1.experts.miniwob.dom import click, fill, find, first, px_box, reach, scroll_on
from tracer1.trajectory import Element, Observation, Step, Task

# Icon offsets in CSS px from a kept element's top-left corner: (dx, dy, width, height).
# Email view, from the subject line (the bar with the icons sits right above it); keyed
# by the page's task names.
_EMAIL_ICONS = {"close": (0, -15.6, 12, 12), "star": (111, -15, 12, 12),
                "delete": (125, -15, 12, 12)}
# Reply and forward forms, from their "to:" label: the bar's back arrow and send icon.
_COMPOSE_ICONS = {"reply": {"close": (1, -18.6, 12, 12), "send": (137, -20, 14, 14)},
                  "forward": {"close": (1, -22.6, 12, 12), "send": (137, -24, 14, 14)}}
_SEARCH_CANCEL = (3, -15.6, 12, 12)  # from the search field


def preceding(obs: Observation, element: Element) -> Element | None:
    """The element just before `element` in document order (its left neighbour on a line)."""
    refs = [e.ref for e in obs.elements]
    index = refs.index(element.ref)
    return obs.elements[index - 1] if index > 0 else None


def following(obs: Observation, element: Element) -> Element | None:
    """The element just after `element` in document order."""
    refs = [e.ref for e in obs.elements]
    index = refs.index(element.ref)
    return obs.elements[index + 1] if index + 1 < len(refs) else None


# ---------------------------------------------------------------------- email-inbox


def open_email(obs: Observation) -> tuple[Element, Element, Element | None] | None:
    """(subject, sender, body) of the email on show, or None outside the email view.

    The view is the one with "Reply" and "Forward"; the sender is the line above
    "to me", the subject the line above the sender, the body the line below.
    """
    to_me = first(find(obs, text="to me"))
    if to_me is None or not find(obs, text="Forward"):
        return None
    sender = preceding(obs, to_me)
    subject = preceding(obs, sender) if sender is not None else None
    if sender is None or subject is None:
        return None
    return subject, sender, following(obs, to_me)


def forwarded_email(history: Sequence[Step]) -> tuple[str, str] | None:
    """(sender, body) of the email the forward form was opened from: the form shows
    neither, so they are read off the last email view in `history`."""
    for step in reversed(history):
        shown = open_email(step.observation)
        if shown is not None:
            _, sender, body = shown
            return sender.text, body.text if body is not None else ""
    return None


@expert_for("email-inbox")
def email_inbox(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """Open the sender's email (from the list, leaving any other view), then act on it."""
    fields = task.spec["fields"]
    to_label = first(find(obs, text="to:", tag="label"))
    text_area = first(find(obs, tag="textarea"))
    if to_label is not None and text_area is not None:
        return _compose(obs, history, fields, to_label, text_area)
    shown = open_email(obs)
    if shown is not None:
        return _on_email(obs, history, fields, *shown[:2])
    by = fields["by"]
    thread = first(find(obs, text=by, tag="div"))
    if thread is not None:
        return reach(obs, thread.box, history, f"email from {by}")
    search = first(find(obs, tag="input_text"))
    if search is not None:  # a search with no result from the sender: back to the inbox
        return reach(obs, px_box(search.box, *_SEARCH_CANCEL), history, "back arrow")
    return scroll_on(obs, history) or Done()


def _on_email(obs: Observation, history: Sequence[Step], fields: dict[str, str],
              subject: Element, sender: Element) -> Action:
    """The open email: back to the list if it is not the sender's, else the task's button
    or icon (the icons sit in the bar above the subject)."""
    job = fields["task"]
    if sender.text != fields["by"]:
        return reach(obs, px_box(subject.box, *_EMAIL_ICONS["close"]), history, "back arrow")
    if job in ("reply", "forward"):
        button = first(find(obs, text=job.capitalize()))
        if button is not None:
            return reach(obs, button.box, history, f"{button.text} button")
    if job in ("star", "delete"):
        icon = "star icon" if job == "star" else "trash icon"
        return reach(obs, px_box(subject.box, *_EMAIL_ICONS[job]), history, icon)
    return Done()


def _compose(obs: Observation, history: Sequence[Step], fields: dict[str, str],
             to_label: Element, text_area: Element) -> Action:
    """A reply or forward form: fill and send it when it answers the task, else close it."""
    to_field = first(find(obs, tag="input_text"))
    form = "reply" if to_field is None else "forward"
    icons = _COMPOSE_ICONS[form]
    if form == "reply":
        to = following(obs, to_label)  # the recipient, shown as text
        right = fields["task"] == "reply" and to is not None and to.text == fields["by"]
    else:  # the form shows neither sender nor body: both come from the email it was opened on
        source = forwarded_email(history)
        right = (fields["task"] == "forward" and source is not None
                 and source[0] == fields["by"] and text_area.text == source[1])
    if not right:
        return reach(obs, px_box(to_label.box, *icons["close"]), history, "back arrow")
    if form == "reply":
        step = fill(obs, text_area, fields["message"], history, "reply text")
    else:
        assert to_field is not None
        step = fill(obs, to_field, fields["to"], history, "to field")
    return step or reach(obs, px_box(to_label.box, *icons["send"]), history, "send icon")


# ---------------------------------------------------------------------- search-engine

RESULTS_PER_PAGE = 3


def is_pager(element: Element) -> bool:
    """A pagination link: a page number, or the "<" / ">" arrows."""
    return element.tag == "a" and (element.text.isdigit() or element.text in ("<", ">"))


def clicked(step: Step) -> Element | None:
    """The element a history step clicked: the one the executor hit, else the smallest
    one under the click."""
    if not isinstance(step.action, Click):
        return None
    ref = step.executed.get("element")
    hit = first(e for e in step.observation.elements if e.ref == ref)
    if hit is not None or ref is not None:
        return hit
    x, y = step.executed.get("point") or (step.action.x, step.action.y)
    under = [e for e in step.observation.elements if e.box.contains(x, y)]
    return min(under, key=lambda e: (e.box.right - e.box.left) * (e.box.bottom - e.box.top),
               default=None)


def results_state(history: Sequence[Step], query: str) -> tuple[bool, int]:
    """(whether the results on show answer `query`, their page; 0 before any search).

    The page builds results when "Search" or a page link is clicked, from what the
    search field holds then (matched without case); it marks the open page only by a
    style the observation does not carry. So both are replayed from the clicks.

    >>> from tracer1.actions import Box
    >>> field = Element("3", "input_text", "Renda", Box(0, 250, 500, 330))
    >>> search = Element("4", "button", "Search", Box(520, 250, 700, 330))
    >>> page3 = Element("9", "a", "3", Box(300, 900, 340, 960))
    >>> obs = Observation(elements=(field, search, page3))
    >>> results_state([Step(0, obs, Click(600, 290), {"element": "4"}),
    ...                Step(1, obs, Click(320, 930), {"element": "9"})], "renda")
    (True, 3)
    >>> results_state([], "renda")
    (False, 0)
    """
    right, page = False, 0
    for step in history:
        hit = clicked(step)
        if hit is None:
            continue
        if hit.tag == "button" and hit.text == "Search":
            page = 1
        elif is_pager(hit) and page:
            page = int(hit.text) if hit.text.isdigit() else page + (1 if hit.text == ">" else -1)
            page = max(1, page)
        else:
            continue
        field = first(find(step.observation, tag="input_text"))
        right = field is not None and field.text.lower() == query.lower()
    return right, page


@expert_for("search-engine")
def search_engine(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """Type the query, search, open the result's page, click the result by its rank.

    Titles repeat (the query itself may title several results), so the result is
    picked by position on its page, never by text.
    """
    query, rank = task.spec["fields"]["query"], int(task.spec["fields"]["rank"])
    field = first(find(obs, tag="input_text"))
    button = first(find(obs, text="Search", tag="button"))
    if field is None or button is None:
        return Done()
    typed = fill(obs, field, query, history, "search box")
    if typed is not None:
        return typed
    right, page = results_state(history, query)
    if not right:
        return click(button, "Search button")
    want = (rank - 1) // RESULTS_PER_PAGE + 1
    if page != want:
        link = first(e for e in find(obs, tag="a") if is_pager(e) and e.text == str(want))
        if link is None:
            return click(button, "Search button")
        return reach(obs, link.box, history, f"page {want} link")
    results = [e for e in find(obs, tag="a") if not is_pager(e)]
    index = (rank - 1) % RESULTS_PER_PAGE
    if index >= len(results):
        return click(button, "Search button")
    result = results[index]
    return reach(obs, result.box, history, f"{result.text} (result {rank})")


# ---------------------------------------------------------------------- social-media

# From the tweet's name (its first line) to the icons in its bottom row, in CSS px.
TWEET_ICONS = {"Reply": (11, 42, 14, 14), "Retweet": (42.8, 40, 16, 16),
                "Like": (76.6, 42, 14, 14), "more": (108.3, 42, 14, 14)}
# The "more" menu opens under the icon: its items, 17 px apart.
_MENU = ("Share via DM", "Copy link to Tweet", "Embed Tweet", "Mute", "Block", "Report")
_MENU_ITEM = (43.8, 59, 87.5, 17)
_MENU_TOLERANCE = 8  # grid rows


def menu_item_text(button: str, user: str) -> str:
    """The menu item's text: Mute and Block name the user.

    >>> menu_item_text("Mute", "@leo"), menu_item_text("Embed Tweet", "@leo")
    ('Mute @leo', 'Embed Tweet')
    """
    return f"{button} {user}" if button in ("Mute", "Block") else button


@expert_for("social-media")
def social_media(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """Click the user's icon, or open the user's "more" menu and click the item.

    Any tweet by the user counts; the first one is used. The icons are hovered first
    (the environment moves the pointer before it clicks), as the page expects.
    """
    user, button = task.spec["fields"]["user"], task.spec["fields"]["button"]
    handle = first(find(obs, text=user, tag="span"))
    name = preceding(obs, handle) if handle is not None else None
    if handle is None or name is None:
        return scroll_on(obs, history) or Done()
    if button in TWEET_ICONS:
        return reach(obs, px_box(name.box, *TWEET_ICONS[button]), history,
                     f"{button} icon of {user}")
    if button not in _MENU:
        return Done()
    label = menu_item_text(button, user)
    if not _menu_open_for(obs, name, user):  # (opening it closes any other)
        return reach(obs, px_box(name.box, *TWEET_ICONS["more"]), history,
                     f"more icon of {user}")
    item = first(e for e in find(obs, tag="li") if e.text == label)
    if item is None:  # below the screen
        return scroll_on(obs, history) or Done()
    return reach(obs, item.box, history, label)


def _menu_open_for(obs: Observation, name: Element, user: str) -> bool:
    """Whether the open "more" menu (one at most) is a tweet of `user`'s.

    Its Mute and Block items name the tweet's user; when both lie below the screen,
    the menu is ours if its items sit where they would under this tweet's name.
    """
    items = find(obs, tag="li")
    named = [e.text.split(" ", 1)[1] for e in items if e.text.startswith(("Mute @", "Block @"))]
    if named:
        return user in named
    dx, dy, width, height = _MENU_ITEM
    slots = [px_box(name.box, dx, dy + i * height, width, height) for i in range(len(_MENU))]
    return any(abs(e.box.top - s.top) <= _MENU_TOLERANCE for e in items for s in slots)


__all__ = [
    "email_inbox",
    "forwarded_email",
    "menu_item_text",
    "open_email",
    "results_state",
    "search_engine",
    "social_media",
]
