"""Helpers every MiniWoB expert uses to read an observation's elements and write actions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tracer1.actions import GRID, Action, Box, Click, Press, Scroll, Type
from tracer1.rewards.text import normalize_key
from tracer1.trajectory import Element, Observation, Step


def find(obs: Observation, *, text: str | None = None, tag: str | None = None,
         prefix: str | None = None) -> list[Element]:
    """Elements whose text equals `text` (case-sensitive) and whose tag is or starts with."""
    out = []
    for e in obs.elements:
        if text is not None and e.text != text:
            continue
        if tag is not None and e.tag != tag:
            continue
        if prefix is not None and not e.tag.startswith(prefix):
            continue
        out.append(e)
    return out


def first(elements: Iterable[Element]) -> Element | None:
    return next(iter(elements), None)


def click(element: Element, target: str | None = None) -> Click:
    """A click at the element's centre, described and annotated with its box."""
    x, y = element.box.center
    return Click(x, y, target=target if target is not None else (element.text or element.tag),
                 box=element.box)


def focused_ref(obs: Observation) -> str | None:
    for line in obs.text.splitlines():
        if line.startswith("Focused: [") and line.endswith("]"):
            return line[len("Focused: ["):-1]
    return None


# ---------------------------------------------------------------------- forms
# (appended for the form experts in `forms.py`)


def same_row(a: Element, b: Element) -> bool:
    """`b`'s vertical centre lies within `a`'s top..bottom (one line of a form)."""
    return a.box.top <= b.box.center[1] <= a.box.bottom


def text_right_of(obs: Observation, element: Element) -> Element | None:
    """The nearest element with text to the right of `element` on its row: its label.

    A checkbox's name is a bare text node after the input inside its `<label>`, so the
    label shows up as its own (text) element beside the box, not as the input's text.
    """
    beside = [e for e in obs.elements
              if e.text and e.ref != element.ref and e.box.left >= element.box.center[0]
              and same_row(element, e)]
    return min(beside, key=lambda e: e.box.left, default=None)


def last_action(history: Sequence[Step]) -> Action | None:
    return history[-1].action if history else None


def fill(obs: Observation, field: Element, text: str, history: Sequence[Step],
         target: str | None = None) -> Action | None:
    """The next action that makes the text field hold exactly `text`; None once it does.

    From any state: focus the field with a click, select whatever it holds with
    ctrl+a and type over it. The selection is not visible in the observation, so
    whether ctrl+a was the last action is read from `history`.

    >>> from tracer1.actions import Box
    >>> box = Box(10, 10, 500, 60)
    >>> field = Element("5", "input_text", "bob", box)
    >>> fill(Observation("Focused: [5]", (field,)), field, "alice", []).key
    'ctrl+a'
    >>> fill(Observation("", (field,)), field, "alice", []).verb
    'click'
    >>> done = Element("5", "input_text", "alice", box)
    >>> fill(Observation("", (done,)), done, "alice", []) is None
    True
    """
    if field.text == text:
        return None
    label = target if target is not None else (field.text or field.tag)
    if focused_ref(obs) != field.ref:
        return click(field, label)
    last = last_action(history)
    if field.text and not (isinstance(last, Press) and normalize_key(last.key) == "ctrl+a"):
        return Press("ctrl+a")
    return Type(text, target=label, box=field.box)


# How far down the browser's viewport reaches, in grid units of the task screen. The
# environment sizes the viewport to the whole 210 px screen (`Browser._fit_viewport`),
# so nothing on screen is out of reach. A shorter viewport (a bare 500x320 window in
# headless Chromium leaves 177 px: 842) makes a click below it fail "out of bounds";
# the experts then scroll the page first (`click_in_view`, `pane_band`).
VIEWPORT_BOTTOM = GRID


def in_view(element: Element) -> bool:
    return element.box.center[1] <= VIEWPORT_BOTTOM


def click_in_view(element: Element, history: Sequence[Step], target: str | None = None) -> Action:
    """`click(element)`; first one page scroll when its centre lies below the viewport.

    A page scrolls by at most the screen's overhang (33 px for a 177 px viewport), so
    after one scroll the element is as high as it gets: the click then goes to the
    middle of its part above the viewport's edge, or to its centre if none shows.

    >>> from tracer1.actions import Box
    >>> click_in_view(Element("9", "button", "Submit", Box(12, 843, 609, 990)), []).y
    916
    """
    if in_view(element):
        return click(element, target)
    last = last_action(history)
    if not (isinstance(last, Scroll) and last.direction == "down"):
        return Scroll("down", target="page")
    x, y = element.box.center
    if element.box.top < VIEWPORT_BOTTOM:
        y = (element.box.top + VIEWPORT_BOTTOM) // 2
    return Click(x, y, target=target if target is not None else (element.text or element.tag),
                 box=element.box)


# ---------------------------------------------------------------------- scroll panes
# (appended for the app experts in `apps.py` and `flight.py`)
#
# The app pages show their content in a scroll pane (#area, #main, #email: 150-160 px
# tall under the 50 px instruction bar). An element scrolled out of a pane stays in the
# observation (above: box clipped to the top edge; below, down to the screen's edge), so
# "in the observation" is not "clickable": a click goes to it only inside the band of
# rows that a pane shows whatever the page itself is scrolled by (`pane_band`).

SCREEN_PX = (160, 210)  # the task screen in CSS pixels, as the grid spans it
PANE_TOP_PX = 56  # panes start at 50 px (52 with padding); a few px of margin
# A wheel scroll here lands inside every app page's pane (80, 110 px).
PANE_POINT = Box(250, 400, 750, 650)


def px_box(ref: Box, dx: float, dy: float, width: float, height: float) -> Box:
    """The box `dx`, `dy` CSS pixels from `ref`'s top-left corner, `width` x `height` px.

    Icons drawn with CSS (`content: url(...)`) have neither text nor children, so the
    observation leaves them out; their place is fixed relative to an element it keeps.

    >>> px_box(Box(56, 271, 600, 329), 10, -10, 16, 21)
    Box(left=118, top=223, right=218, bottom=323)
    """
    sx, sy = GRID / SCREEN_PX[0], GRID / SCREEN_PX[1]
    left, top = ref.left + dx * sx, ref.top + dy * sy
    return Box(round(left), round(top), round(left + width * sx), round(top + height * sy))


def pane_band(pane_bottom_px: float = 204.0) -> tuple[int, int]:
    """Grid rows (top, bottom) where a pane ending at `pane_bottom_px` surely shows content.

    While the viewport is shorter than the screen (`VIEWPORT_BOTTOM`), the page itself
    may be scrolled by the difference, lifting the pane's bottom edge by as much; the
    band allows for it, so it holds with and without that scroll.

    >>> pane_band()[0]
    267
    """
    viewport = VIEWPORT_BOTTOM * SCREEN_PX[1] / GRID
    page_scroll = max(0.0, SCREEN_PX[1] - viewport)
    bottom = min(pane_bottom_px - page_scroll, viewport) - 6
    return round(PANE_TOP_PX * GRID / SCREEN_PX[1]), round(bottom * GRID / SCREEN_PX[1])


def scroll_stalled(obs: Observation, history: Sequence[Step], direction: str) -> bool:
    """Whether the last action scrolled `direction` and nothing on the page moved: the
    pane (and the page) are at their end, so what shows now is all that ever will."""
    last = last_action(history)
    if not (isinstance(last, Scroll) and last.direction == direction):
        return False
    before = {e.ref: e.box for e in history[-1].observation.elements}
    return all(before.get(e.ref) == e.box for e in obs.elements)


def reach(obs: Observation, box: Box, history: Sequence[Step], target: str,
          pane_bottom_px: float = 204.0) -> Action:
    """A click on `box` once a pane shows it (`pane_band`); until then, a scroll toward it.

    The scroll wheel turns over the pane; a pane at its end hands the scroll to the page.
    When scrolling no longer moves anything, the click goes where the box is.

    >>> top, bottom = pane_band()
    >>> reach(Observation(), Box(10, 400, 90, 450), [], "Like").verb
    'click'
    >>> reach(Observation(), Box(10, 0, 90, 0), [], "Like").direction  # scrolled above
    'up'
    >>> reach(Observation(), Box(10, bottom, 90, bottom + 60), [], "Like").direction
    'down'
    """
    top, bottom = pane_band(pane_bottom_px)
    y = box.center[1]
    direction = "up" if y < top else "down" if y > bottom else None
    if direction is None or scroll_stalled(obs, history, direction):
        return Click(box.center[0], y, target=target, box=box)
    return Scroll(direction, target="scroll pane", box=PANE_POINT)


def scroll_on(obs: Observation, history: Sequence[Step], direction: str = "down") -> Action | None:
    """A scroll of the pane to look for what is not on screen yet; None once it stalls."""
    if scroll_stalled(obs, history, direction):
        return None
    return Scroll(direction, target="scroll pane", box=PANE_POINT)
