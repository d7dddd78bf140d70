"""The book-flight expert: MiniWoB's longest page (about 19 steps when nothing goes wrong).

Fill "From" and "To" through their autocomplete menus, page the date picker to the
month and click the day (the date field is read-only), search, then book the cheapest
or shortest of the flights found. Every step is decided from the page as it is now,
so a planner's detour (a wrong airport picked, a wrong month open, a search with a
wrong date) is undone on the way: wrong results are left with "Back", and a wrong
field is retyped.

The widgets shape the steps. The autocomplete searches 300 ms after the last
keystroke, ArrowDown at once: the expert opens the menu with ArrowDown and types an
airport code as "(LEX)", which makes the wanted airport the first item (a search that
fires late then only rebuilds the menu around the same, right value); Tab takes the
item and moves to the next field. The date picker opens on focus, not on click (a
focused date field is blurred first), moves into place a moment after it opens and
fades out after a day is picked. The results list is longer than its pane: Tab walks
the "Book" buttons, scrolling each into view at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tracer1.actions import GRID, Action, Box, Done, Press, Scroll
from tracer1.experts.miniwob import expert_for
from tracer1.experts.miniwob.dom import (
    PANE_POINT,
    SCREEN_PX,
    click,
    fill,
    find,
    first,
    focused_ref,
    pane_band,
    reach,
    scroll_on,
)
from tracer1.rewards.text import normalize_key
from tracer1.trajectory import Element, Observation, Step, Task

AIRPORT = re.compile(r".+ \([A-Z]{3}\)")
CODE = re.compile(r"[A-Z]{3}")
DURATION = re.compile(r"(\d+)h (\d+)m")
PRICE = re.compile(r"Book flight for \$(\d+)")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
RESULTS_PANE_BOTTOM_PX = 187.0  # the results overflow sideways: a 17 px scrollbar ends the pane
NEXT_CARD_PX = 14.0  # from a flight's "Book" button to the next flight's first line


# ---------------------------------------------------------------------- parsing


def parse_date(text: str) -> tuple[int, int, int]:
    """The task's MM/DD/YYYY date → (year, month, day).

    >>> parse_date("10/05/2016")
    (2016, 10, 5)
    """
    month, day, year = (int(part) for part in text.split("/"))
    return year, month, day


def airport_ok(value: str, term: str) -> bool:
    """Whether a field's value is a listed airport that the page accepts for `term`.

    The page wants one of its airports ("City, ST (CODE)") that contains the city or
    code of the instruction, case and all.

    >>> airport_ok("Lexington, KY (LEX)", "LEX"), airport_ok("Alexandria, LA (AEX)", "LEX")
    (True, False)
    >>> airport_ok("LEX", "LEX")
    False
    """
    return term in value and AIRPORT.fullmatch(value) is not None


def airport_query(term: str) -> str:
    """What to type for `term`: a code in parentheses, so the menu lists its airport first
    (the menu matches anywhere and ignores case: "LEX" would list Alexandria before it).

    >>> airport_query("LEX"), airport_query("Decatur, IL")
    ('(LEX)', 'Decatur, IL')
    """
    return f"({term})" if CODE.fullmatch(term) else term


def duration_minutes(text: str) -> int | None:
    """A flight's duration as shown ("5h 23m") in minutes, else None.

    >>> duration_minutes("5h 23m"), duration_minutes("Duration:")
    (323, None)
    """
    match = DURATION.fullmatch(text)
    return None if match is None else 60 * int(match[1]) + int(match[2])


def price(text: str) -> int | None:
    """A "Book flight for $123" button's price, else None.

    >>> price("Book flight for $123"), price("Search")
    (123, None)
    """
    match = PRICE.fullmatch(text)
    return None if match is None else int(match[1])


def calendar_month(obs: Observation) -> tuple[int, int] | None:
    """(year, month) the open date picker shows, or None when it is closed."""
    for index, element in enumerate(obs.elements[:-1]):
        year = obs.elements[index + 1].text
        if element.text in MONTHS and year.isdigit():
            return int(year), MONTHS.index(element.text) + 1
    return None


def menu_items(obs: Observation) -> list[Element]:
    """The open autocomplete menu's items (a hidden copy for screen readers has no width)."""
    return [e for e in obs.elements
            if e.tag == "div" and e.box.right > e.box.left and AIRPORT.fullmatch(e.text)]


# ---------------------------------------------------------------------- the expert


@expert_for("book-flight")
def book_flight(task: Task, obs: Observation, history: Sequence[Step]) -> Action:
    """The next step toward booking: results first, then the open date picker, the two
    airports, the date and the search."""
    fields = task.spec["fields"]
    back = first(find(obs, text="Back", tag="button"))
    if back is not None:
        return _results(obs, history, fields, back)
    inputs = find(obs, tag="input_text")
    search = first(find(obs, text="Search", tag="button"))
    if len(inputs) < 3 or search is None:
        return Done()
    origin, destination, date = inputs[:3]
    # The date picker covers both airport fields: finish with it first. It fades out
    # over a few steps after a day is picked, so once the date is right it is left alone
    # unless a field under it needs work (clicking the right day again closes it).
    shown = calendar_month(obs)
    if shown is not None and date.text != fields["date"]:
        return _pick_day(obs, shown, date, fields["date"])
    for field, term, name in ((origin, fields["from"], "From"),
                              (destination, fields["to"], "To")):
        step = _airport(obs, history, field, term, name)
        if step is not None:
            return step if shown is None else _pick_day(obs, shown, date, fields["date"])
    if date.text != fields["date"]:
        if focused_ref(obs) == date.ref:  # opens on focus only: blur it first
            header = first(find(obs, tag="h2"))
            if header is not None:
                return click(header, "page header")
        return click(date, "Departure Date field")
    return reach(obs, search.box, history, "Search button")


def _airport(obs: Observation, history: Sequence[Step], field: Element, term: str,
             name: str) -> Action | None:
    """The next step of filling one airport field through its menu; None once it is done."""
    focused = focused_ref(obs) == field.ref
    items = menu_items(obs) if focused else []
    if airport_ok(field.text, term):
        # Tab takes the item the arrow keys are on (as Enter would), closes the menu
        # (which covers the next field) and moves on to the next field.
        return None if not items else Press("tab")
    if not focused:
        return click(field, f"{name} field")
    query = airport_query(term)
    if items and any(term in item.text for item in items):
        return Press("down")
    if field.text == query:
        return Press("down")  # opens the menu now, not after the page's 300 ms delay
    return fill(obs, field, query, history, f"{name} field")


def _pick_day(obs: Observation, shown: tuple[int, int], date: Element, target: str) -> Action:
    """Page the open date picker to the month, then click the day.

    The page moves the picker above the field a moment after it opens (a timeout of
    its own): until it is there, a click could land on what lies below the field (the
    Search button), so the expert waits with a scroll of the form, which moves nothing.
    """
    year, month, day = parse_date(target)
    prev = first(find(obs, text="Prev"))
    if shown != (year, month):
        arrow = "Prev" if shown > (year, month) else "Next"
        link = first(find(obs, text=arrow))
    else:
        arrow = f"day {day}"
        link = first(e for e in find(obs, tag="a") if e.text == str(day))
    if link is None or prev is None or prev.box.top >= date.box.top:
        return Scroll("down", target="date picker (opening)", box=PANE_POINT)
    return click(link, arrow if arrow.startswith("day") else f"{arrow} month")


def _results(obs: Observation, history: Sequence[Step], fields: dict[str, str],
             back: Element) -> Action:
    """Book the best flight once all are seen; leave results of a wrong search.

    The list scrolls inside its pane, 50 px a wheel turn; Tab is faster: it focuses the
    next "Book" button and scrolls it into view at once (the keyboard's own scrolling
    glides over a few steps, and a click must not land mid-glide). The date picker may
    still hang over the list (fading out, or left open by a pick made while it was
    fading in): a button under it is booked from the keyboard instead of clicked.
    """
    # Results of the right search name the destination as the instruction does, and
    # the date; those of a wrong one show whatever was searched for instead.
    if not (find(obs, text=fields["to"]) and find(obs, text=fields["date"])):
        return reach(obs, back.box, history, "Back button", RESULTS_PANE_BOTTOM_PX)
    flights, complete = seen_flights(obs, history)
    focused = focused_ref(obs)
    books = [ref for ref, _, _ in flights]
    if not complete:
        # Tab from the page (the first one lands on "Back") or along the buttons; focus
        # gone elsewhere after tabbing (a planner's click) falls back to the wheel.
        if focused in (*books, back.ref) or not _tabbed(results_history(history)):
            return Press("tab")
        step = scroll_on(obs, history)
        if step is not None:
            return step
    if not flights:
        return Done()
    key = 1 if fields["criterion"] == "cheapest" else 2
    best_ref = min(flights, key=lambda flight: flight[key])[0]
    best = first(e for e in obs.elements if e.ref == best_ref)
    top, bottom = pane_band(RESULTS_PANE_BOTTOM_PX)
    cover = picker_box(obs)
    if (best is not None and top <= best.box.center[1] <= bottom
            and (cover is None or not cover.contains(*best.box.center))):
        return click(best, best.text)
    if focused == best_ref:  # where a click would not surely land: Enter books it
        return Press("enter")
    if focused in books:  # step the focus to it: the pane scrolls it into view
        return Press("shift+tab" if books.index(best_ref) < books.index(focused) else "tab")
    if best is None or cover is not None:
        return Press("tab")
    return reach(obs, best.box, history, best.text, RESULTS_PANE_BOTTOM_PX)


def picker_box(obs: Observation) -> Box | None:
    """The box the date picker covers while it shows (from its "Prev" link on: it is
    the last thing on the page), else None."""
    refs = [e.ref for e in obs.elements]
    prev = first(find(obs, text="Prev"))
    if prev is None or calendar_month(obs) is None:
        return None
    boxes = [e.box for e in obs.elements[refs.index(prev.ref):] if e.box.right > e.box.left
             and e.box.bottom > e.box.top]
    return Box(min(b.left for b in boxes), min(b.top for b in boxes),
               max(b.right for b in boxes), max(b.bottom for b in boxes))


def seen_flights(obs: Observation, history: Sequence[Step]
                 ) -> tuple[list[tuple[str, int, int]], bool]:
    """The flights of the results on show as (button ref, price, minutes), and whether
    that is all of them.

    The observation drops what lies below the screen, so a long list is read while
    scrolling down; scrolling back up to the best flight then drops the last ones. So
    the flights are gathered over the observations of this results view in `history`
    (the same elements keep their refs; a new search builds new ones).
    """
    views = [obs, *(step.observation for step in reversed(results_history(history)))]
    flights: dict[str, tuple[int, int]] = {}
    durations: dict[str, int] = {}
    complete = False
    for view in reversed(views):  # oldest first: elements first show in document order
        minutes = None
        for element in view.elements:
            if (d := duration_minutes(element.text)) is not None:
                minutes = durations.setdefault(element.ref, d)
            elif (p := price(element.text)) is not None and element.tag == "button":
                if minutes is not None:
                    flights.setdefault(element.ref, (p, minutes))
        complete = complete or all_flights_shown(view)
    return [(ref, p, m) for ref, (p, m) in flights.items()], complete


def results_history(history: Sequence[Step]) -> Sequence[Step]:
    """The steps taken on the results on show: the trailing run of results views."""
    start = len(history)
    while start > 0 and find(history[start - 1].observation, text="Back", tag="button"):
        start -= 1
    return history[start:]


def _tabbed(steps: Sequence[Step]) -> bool:
    return any(isinstance(s.action, Press) and normalize_key(s.action.key) == "tab"
               for s in steps)


def all_flights_shown(obs: Observation) -> bool:
    """Whether the observation holds every flight: the last one has its "Book" button
    and room below it where another flight would start (elements beneath the screen
    are not observed)."""
    books = [e for e in obs.elements if e.tag == "button" and price(e.text) is not None]
    if not books:
        return False
    last = books[-1]
    refs = [e.ref for e in obs.elements]
    after = obs.elements[refs.index(last.ref) + 1:]
    if any(e.text == "Depart:" for e in after):
        return False
    bottom_px = last.box.bottom * SCREEN_PX[1] / GRID
    return bottom_px + NEXT_CARD_PX < SCREEN_PX[1]


__all__ = [
    "airport_ok",
    "airport_query",
    "all_flights_shown",
    "book_flight",
    "calendar_month",
    "duration_minutes",
    "parse_date",
    "picker_box",
    "price",
    "seen_flights",
]
