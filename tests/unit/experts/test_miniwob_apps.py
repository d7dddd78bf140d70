"""The app-page experts without a browser: their parsing, and their choices on hand-built pages.

Boxes are copied from real observations of the pages, so the geometry (icons placed
from a kept element, the visible band of a scroll pane) is checked as the browser lays
it out; `tests/integration/experts/test_miniwob_apps.py` runs the experts for real.
"""

from __future__ import annotations

import doctest

import pytest

from tracer1.actions import Box, Click, Press, Scroll, Type
from tracer1.experts.miniwob import apps, dom, flight
from tracer1.experts.miniwob.apps import (
    email_inbox,
    forwarded_email,
    open_email,
    results_state,
    search_engine,
    social_media,
)
from tracer1.experts.miniwob.flight import (
    airport_ok,
    airport_query,
    all_flights_shown,
    book_flight,
    calendar_month,
    duration_minutes,
    menu_items,
    parse_date,
    price,
    seen_flights,
)
from tracer1.trajectory import Element, Observation, Step, Task


def el(ref: str, tag: str, text: str, box: tuple[int, int, int, int]) -> Element:
    return Element(ref, tag, text, Box(*box))


def page(*elements: Element, focused: str | None = None) -> Observation:
    return Observation(f"Focused: [{focused}]" if focused else "", tuple(elements))


def task(family: str, **fields: str) -> Task:
    return Task(task_id=f"miniwob/{family}/s0", suite="miniwob", family=family, seed=0,
                instruction="", spec={"fields": fields})


@pytest.fixture(autouse=True)
def full_viewport(monkeypatch):
    """The browser shows the whole 210 px screen (tests that need a short one say so)."""
    monkeypatch.setattr(dom, "VIEWPORT_BOTTOM", 1000)


@pytest.mark.parametrize("module", [apps, flight])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------------- shared geometry


def test_px_box_converts_css_pixels_to_the_grid():
    # 16 px across the 160 px screen is 100 grid units; 21 px down the 210 px one, 100.
    assert dom.px_box(Box(0, 0, 10, 10), 16, 21, 16, 21) == Box(100, 100, 200, 200)


def test_pane_band_allows_for_a_short_viewport(monkeypatch):
    tall = dom.pane_band()
    monkeypatch.setattr(dom, "VIEWPORT_BOTTOM", 842)  # 177 px: the page may scroll by 33
    short = dom.pane_band()
    assert tall[0] == short[0] and short[1] < tall[1]
    assert short[1] <= round((204 - 33 - 6) * 1000 / 210)


def test_reach_clicks_in_band_and_scrolls_toward_the_rest():
    top, bottom = dom.pane_band()
    inside = Box(100, top + 10, 300, top + 60)
    assert isinstance(dom.reach(Observation(), inside, [], "x"), Click)
    assert dom.reach(Observation(), Box(100, 0, 300, 0), [], "x").direction == "up"
    below = Box(100, bottom + 1, 300, bottom + 90)
    action = dom.reach(Observation(), below, [], "x")
    assert isinstance(action, Scroll) and action.direction == "down"
    assert action.box == dom.PANE_POINT


def test_reach_clicks_once_scrolling_moves_nothing():
    _, bottom = dom.pane_band()
    low = el("7", "div", "Gerta", (44, bottom + 20, 591, bottom + 70))
    obs = page(low)
    stalled = [Step(0, obs, Scroll("down", box=dom.PANE_POINT))]
    assert isinstance(dom.reach(obs, low.box, stalled, "Gerta"), Click)
    moved = [Step(0, page(el("7", "div", "Gerta", (44, 990, 591, 1000))), Scroll("down"))]
    assert isinstance(dom.reach(obs, low.box, moved, "Gerta"), Scroll)
    assert dom.scroll_on(obs, stalled) is None


# ---------------------------------------------------------------------- email-inbox

INBOX = (
    el("6", "h2", "Primary", (44, 248, 302, 343)),
    el("10", "div", "Lissie", (44, 357, 591, 414)),
    el("11", "div", "Risus commodo.", (44, 414, 591, 467)),
    el("12", "div", "Erat. Ipsum ege..", (44, 467, 591, 519)),
    el("19", "div", "Gerta", (44, 543, 591, 600)),
)
EMAIL = (  # Lissie's email, open
    el("105", "div", "Risus commodo.", (12, 343, 888, 433)),
    el("107", "div", "Lissie", (38, 443, 650, 490)),
    el("108", "div", "to me", (38, 490, 650, 533)),
    el("110", "div", "Erat. Ipsum eget. Viverra senectus.", (12, 533, 888, 762)),
    el("114", "div", "Reply", (148, 867, 398, 910)),
    el("117", "div", "Forward", (503, 867, 753, 910)),
)
FORWARD = (
    el("124", "label", "to:", (25, 376, 122, 429)),
    el("125", "input_text", "", (122, 357, 897, 438)),
    el("127", "label", "subject:", (25, 462, 282, 514)),
    el("129", "textarea", "Erat. Ipsum eget. Viverra senectus.", (12, 529, 975, 1000)),
)


def test_inbox_opens_the_senders_email():
    action = email_inbox(task("email-inbox", by="Gerta", task="star"), page(*INBOX), [])
    assert isinstance(action, Click) and action.box == INBOX[4].box


def test_inbox_scrolls_for_a_sender_below_the_screen():
    action = email_inbox(task("email-inbox", by="Kiley", task="star"), page(*INBOX), [])
    assert isinstance(action, Scroll) and action.direction == "down"


def test_email_view_is_read_and_a_wrong_email_is_closed():
    subject, sender, body = open_email(page(*EMAIL))
    assert (subject.text, sender.text) == ("Risus commodo.", "Lissie")
    assert body.text.startswith("Erat.")
    action = email_inbox(task("email-inbox", by="Gerta", task="star"), page(*EMAIL), [])
    assert action.target == "back arrow"
    # The back arrow sits in the bar above the subject, at the left.
    assert action.box.bottom < subject.box.top and action.box.left < 100


def test_email_view_star_and_reply():
    star = email_inbox(task("email-inbox", by="Lissie", task="star"), page(*EMAIL), [])
    assert star.target == "star icon" and star.box.left > 600
    reply = email_inbox(task("email-inbox", by="Lissie", task="reply", message="Hi."),
                        page(*EMAIL), [])
    assert reply.target == "Reply button"


def test_forward_form_is_checked_against_the_email_it_came_from():
    fields = {"by": "Lissie", "task": "forward", "to": "Hedy"}
    history = [Step(0, page(*EMAIL), Click(628, 888, target="Forward button"))]
    assert forwarded_email(history) == ("Lissie", "Erat. Ipsum eget. Viverra senectus.")
    action = email_inbox(task("email-inbox", **fields), page(*FORWARD), history)
    assert action.target == "to field"  # focus the recipient field first
    filled = (*FORWARD[:1], el("125", "input_text", "Hedy", (122, 357, 897, 438)), *FORWARD[2:])
    assert email_inbox(task("email-inbox", **fields), page(*filled), history).target == "send icon"
    wrong = {**fields, "by": "Gerta"}  # forwarding someone else's email: close the form
    assert email_inbox(task("email-inbox", **wrong), page(*FORWARD), history).target == "back arrow"


# ---------------------------------------------------------------------- search-engine

SEARCH = (
    el("3", "input_text", "Renda", (25, 257, 525, 338)),
    el("4", "button", "Search", (537, 252, 737, 343)),
    el("8", "a", "Renda", (25, 362, 219, 410)),
    el("12", "a", "Lyda", (25, 529, 181, 576)),
    el("16", "a", "Renda", (25, 695, 219, 743)),
    el("20", "a", "1", (106, 862, 144, 938)),
    el("21", "a", "2", (181, 862, 219, 938)),
    el("22", "a", "3", (256, 862, 294, 938)),
    el("23", "a", ">", (331, 862, 369, 938)),
)


def test_results_state_replays_search_and_page_clicks():
    obs = page(*SEARCH)
    clicks = [Step(0, obs, Click(637, 298), {"element": "4"}),
              Step(1, obs, Click(200, 900), {"element": "21"}),
              Step(2, obs, Click(350, 900), {"element": "23"})]
    assert results_state(clicks, "renda") == (True, 3)
    typo = page(el("3", "input_text", "Rend", (25, 257, 525, 338)), *SEARCH[1:])
    assert results_state([Step(0, typo, Click(637, 298), {"element": "4"})], "Renda")[0] is False
    # Without the executor's record, the element under the click point is used.
    assert results_state([Step(0, obs, Click(637, 298))], "Renda") == (True, 1)


def test_search_engine_picks_the_result_by_position_not_title():
    searched = [Step(0, page(*SEARCH), Click(637, 298), {"element": "4"})]
    fields = {"query": "Renda", "rank": "3"}
    action = search_engine(task("search-engine", **fields), page(*SEARCH), searched)
    assert action.box == SEARCH[4].box  # the third result, though the first has the same title
    on_page_one = search_engine(task("search-engine", query="Renda", rank="5"), page(*SEARCH),
                                searched)
    assert on_page_one.target == "page 2 link"


def test_search_engine_fixes_the_query_before_searching():
    typo = page(el("3", "input_text", "Rend", (25, 257, 525, 338)), *SEARCH[1:], focused="3")
    assert search_engine(task("search-engine", query="Renda", rank="1"), typo, []) == \
        Press("ctrl+a")
    assert search_engine(task("search-engine", query="Renda", rank="1"), page(*SEARCH),
                         []).target == "Search button"


# ---------------------------------------------------------------------- social-media

FEED = (
    el("6", "span", "Ailyn", (56, 262, 209, 314)),
    el("7", "span", "@volutpat", (226, 267, 481, 314)),
    el("9", "span", "15h ago", (531, 267, 734, 314)),
    el("10", "div", "Nibh. Vitae.", (56, 329, 881, 381)),
    el("19", "span", "Holmes", (56, 557, 282, 610)),
    el("20", "span", "@penatibus", (299, 562, 601, 610)),
)
MENU = tuple(el(str(109 + i), "li", text, (330, 543 + 81 * i, 877, 624 + 81 * i)) for i, text in
             enumerate(["Share via DM", "Copy link to Tweet", "Embed Tweet", "Mute @volutpat",
                        "Block @volutpat", "Report"]))


def test_social_icons_are_placed_under_the_tweet():
    like = social_media(task("social-media", user="@volutpat", button="Like"), page(*FEED), [])
    # The like icon measured at (85.6, 97) px, 14 px square, for a name at (9, 55).
    assert like.box == dom.px_box(FEED[0].box, 76.6, 42, 14, 14)
    assert 530 <= like.x <= 630 and 460 <= like.y <= 530


def test_social_menu_is_opened_then_its_item_clicked():
    fields = {"user": "@volutpat", "button": "Block"}
    opening = social_media(task("social-media", **fields), page(*FEED), [])
    assert opening.target == "more icon of @volutpat"
    item = social_media(task("social-media", **fields), page(*FEED, *MENU), [])
    assert item.target == "Block @volutpat" and item.box == MENU[4].box


def test_social_menu_owner_is_placed_when_its_named_items_are_off_screen():
    fields = {"user": "@volutpat", "button": "Report"}
    top_items = MENU[:3]  # Share, Copy, Embed: nothing names the tweet's user
    action = social_media(task("social-media", **fields), page(*FEED, *top_items), [])
    assert isinstance(action, Scroll) and action.direction == "down"  # ours: Report is below
    other = {"user": "@penatibus", "button": "Report"}
    action = social_media(task("social-media", **other), page(*FEED, *top_items), [])
    assert action.target == "more icon of @penatibus"


def test_social_menu_of_another_tweet_is_not_mistaken_for_the_users():
    fields = {"user": "@penatibus", "button": "Report"}
    action = social_media(task("social-media", **fields), page(*FEED, *MENU), [])
    assert action.target == "more icon of @penatibus"


# ---------------------------------------------------------------------- book-flight


def test_flight_parsers():
    assert parse_date("12/03/2016") == (2016, 12, 3)
    assert airport_ok("Albany, OR - Bus service (CVO)", "Albany, OR")
    assert not airport_ok("Lexington, KY (LEX)", "lex")  # the page matches case
    assert airport_query("ICT") == "(ICT)" and airport_query("Anvik, AK") == "Anvik, AK"
    assert duration_minutes("0h 5m") == 5 and duration_minutes("5h") is None
    assert price("Book flight for $1197") == 1197 and price("Back") is None


MENU_VIEW = (
    el("5", "h2", "Book Your One-Way Flight", (25, 287, 894, 340)),
    el("7", "input_text", "", (25, 389, 812, 489)),
    el("9", "input_text", "", (25, 508, 812, 608)),
    el("13", "input_text", "", (75, 769, 738, 846)),
    el("15", "button", "Search", (25, 879, 812, 969)),
)


def with_values(origin: str, destination: str, date: str) -> tuple[Element, ...]:
    values = {"7": origin, "9": destination, "13": date}
    return tuple(Element(e.ref, e.tag, values.get(e.ref, e.text), e.box) for e in MENU_VIEW)


FIELDS = {"criterion": "cheapest", "from": "Cincinnati, OH", "to": "LEX", "date": "10/16/2016"}


def test_book_flight_fills_the_airports_through_the_menu():
    t = task("book-flight", **FIELDS)
    assert book_flight(t, page(*MENU_VIEW), []).target == "From field"
    typed = page(*with_values("(LEX)", "", ""), focused="7")  # a code typed into From: retype
    assert book_flight(t, typed, [Step(0, typed, Press("ctrl+a"))]) == \
        Type("Cincinnati, OH", target="From field", box=MENU_VIEW[1].box)
    to = page(*with_values("Cincinnati, OH (CVG)", "(LEX)", ""), focused="9")
    assert book_flight(t, to, []) == Press("down")  # opens the menu without the page's delay
    items = (el("27", "div", "Lexington, KY (LEX)", (31, 612, 819, 693)),
             el("28", "div", "Lexington, KY (LEX)", (0, 995, 0, 1000)))  # + a hidden copy
    assert [e.ref for e in menu_items(page(*items))] == ["27"]
    chosen = page(*with_values("Cincinnati, OH (CVG)", "Lexington, KY (LEX)", ""), *items,
                  focused="9")
    assert book_flight(t, chosen, []) == Press("tab")


def test_book_flight_pages_the_calendar_to_the_month():
    t = task("book-flight", **FIELDS)
    done = with_values("Cincinnati, OH (CVG)", "Lexington, KY (LEX)", "")
    calendar = (el("21", "span", "Prev", (98, 278, 198, 354)),
                el("23", "span", "Next", (726, 278, 826, 354)),
                el("25", "span", "December", (301, 292, 513, 326)),
                el("26", "span", "2016", (525, 292, 622, 326)),
                el("51", "a", "16", (521, 434, 615, 489)))
    assert calendar_month(page(*calendar)) == (2016, 12)
    assert book_flight(t, page(*done, *calendar, focused="13"), []).target == "Prev month"
    october = (*calendar[:2], el("25", "span", "October", (301, 292, 513, 326)), *calendar[3:])
    assert book_flight(t, page(*done, *october), []).target == "day 16"
    # Just opened, the picker still hangs below the field: wait (a scroll that moves nothing).
    low = tuple(Element(e.ref, e.tag, e.text, Box(e.box.left, e.box.top + 600, e.box.right,
                                                   e.box.bottom + 600)) for e in october)
    assert isinstance(book_flight(t, page(*done, *low), []), Scroll)
    # A focused date field does not reopen the picker on a click: blur it first.
    closed = page(*done, focused="13")
    assert book_flight(t, closed, []).target == "page header"


def flight_card(n: int, top: int, minutes: str, cost: int) -> tuple[Element, ...]:
    return (el(f"{n}0", "label", "Depart:", (44, top, 249, top + 52)),
            el(f"{n}1", "div", "Cincinnati, OH (CVG)", (315, top + 5, 906, top + 110)),
            el(f"{n}2", "div", "LEX", (315, top + 110, 906, top + 162)),
            el(f"{n}3", "div", minutes, (315, top + 172, 906, top + 224)),
            el(f"{n}4", "button", f"Book flight for ${cost}", (75, top + 238, 862, top + 400)))


RESULTS_HEAD = (el("1", "button", "Back", (19, 257, 175, 329)),
                el("2", "span", "CVG to LEX", (114, 348, 460, 400)),
                el("3", "span", "10/16/2016", (511, 348, 824, 400)))


def test_results_are_booked_once_every_flight_is_seen():
    t = task("book-flight", **FIELDS)
    first_card = flight_card(1, 600, "7h 20m", 300)
    partial = page(*RESULTS_HEAD, *first_card)
    assert not all_flights_shown(partial)  # its button reaches the screen's bottom
    assert book_flight(t, partial, []) == Press("tab")
    shifted = tuple(Element(e.ref, e.tag, e.text, Box(e.box.left, 0, e.box.right, 0))
                    for e in (*RESULTS_HEAD, *first_card))
    both = page(*shifted, *flight_card(2, 200, "3h 1m", 500))
    assert all_flights_shown(both)
    flights, complete = seen_flights(both, [Step(0, partial, Press("tab"))])
    assert complete and sorted(p for _, p, _ in flights) == [300, 500]
    # The cheapest ($300) lies above the screen now: step the focus back to it.
    assert book_flight(t, page(*both.elements, focused="24"), []) == Press("shift+tab")
    shortest = {**FIELDS, "criterion": "shortest"}
    action = book_flight(task("book-flight", **shortest), both, [])
    assert isinstance(action, Click) and action.target == "Book flight for $500"


def test_a_button_under_the_date_picker_is_booked_from_the_keyboard():
    t = task("book-flight", **FIELDS)
    card = flight_card(1, 200, "7h 20m", 300)
    picker = (el("31", "span", "Prev", (98, 278, 198, 354)),
              el("35", "span", "December", (301, 292, 513, 326)),
              el("36", "span", "2016", (525, 292, 622, 326)),
              el("125", "a", "31", (734, 691, 827, 746)))
    assert flight.picker_box(page(*picker)) == Box(98, 278, 827, 746)
    covered = page(*RESULTS_HEAD, *card, *picker, focused="14")
    assert book_flight(t, covered, []) == Press("enter")
    assert isinstance(book_flight(t, page(*RESULTS_HEAD, *card), []), Click)


def test_results_of_a_wrong_search_are_left():
    t = task("book-flight", **{**FIELDS, "date": "10/17/2016"})
    action = book_flight(t, page(*RESULTS_HEAD, *flight_card(1, 433, "7h 20m", 300)), [])
    assert action.target == "Back button"
