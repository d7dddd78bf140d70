"""`summary_html`: the validation verdict as one page with no script and no external URL."""

from __future__ import annotations

from html.parser import HTMLParser

from tracer1.data.validation.checks import Check
from tracer1.data.validation.report import Outcome, summary_html

STATS = {"episodes": 2, "steps": 5, "episodes_per_split": {"train": 1, "val": 1}}


def outcomes() -> list[Outcome]:
    between = Check("steps", "expect_column_values_to_be_between",
                    {"column": "box_right", "min_value": 0, "max_value": 1000},
                    why="target box <outside> the grid")
    columns = Check("episodes", "expect_table_columns_to_match_set",
                    {"column_set": ["a", "b"]}, why="frame contract")
    url = Check("episodes", "expect_column_values_to_match_regex",
                {"column": "instruction", "regex": r"https?://\S+"}, why="a URL as text")
    return [
        Outcome(between, success=False, unexpected_count=1, element_count=5,
                examples=({"file": "train.jsonl", "line": 4, "episode_id": "t/c/3", "step": 0,
                           "box_right": 1300},)),
        Outcome(columns, success=True, observed=["a", "b"]),
        Outcome(url, success=True, unexpected_count=0, element_count=2),
    ]


class _Page(HTMLParser):
    """Every tag with its attributes, and the rows of each <table> by its class."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "table":
            self._table = attributes.get("class", "")
        elif tag == "tr" and self._table is not None:
            self.rows.setdefault(self._table, []).append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_the_page_loads_nothing_from_anywhere():
    page = parse(summary_html(outcomes(), STATS))
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object"}, tags
    for tag, attributes in page.tags:
        for name, value in attributes.items():
            assert "//" not in value, (tag, name, value)  # no http(s):, no protocol-relative
    assert "url(" not in summary_html(outcomes(), STATS)  # nor from the inline CSS


def test_every_expectation_is_a_row_with_its_verdict_and_observed_values():
    page = parse(summary_html(outcomes(), STATS))
    rows = [r for r in page.rows["expectations"] if r]  # the header row has no <td>
    assert [r[0] for r in rows] == ["FAIL", "PASS", "PASS"]  # per table, in the given order
    by_label = {r[1]: r for r in rows}
    failing = by_label["expect_column_values_to_be_between(steps.box_right, 0..1000)"]
    assert failing[3] == "1 of 5"
    assert failing[4] == "train.jsonl:4 (episode t/c/3, step 0) box_right=1300"
    assert failing[5] == "target box <outside> the grid"  # escaped in the HTML, text here
    assert by_label["expect_table_columns_to_match_set(episodes)"][2] == '["a", "b"]'
    # The failures come first in a table of their own.
    assert [r[1] for r in page.rows["failures"] if r] == [failing[1]]


def test_a_passing_run_has_no_failures_table_and_is_deterministic():
    passing = [o for o in outcomes() if o.success]
    text = summary_html(passing, STATS)
    assert "failures" not in parse(text).rows
    assert "validate_dataset PASSED: 2/2 expectations met" in text
    assert text == summary_html(passing, STATS)
