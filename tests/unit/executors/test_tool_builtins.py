"""Unit conversion, dates, tables and search: correct answers and clear errors."""

from __future__ import annotations

import pytest

from tracer1.executors.tools.base import ToolError
from tracer1.executors.tools.dates import add_days, days_between, run_date, weekday
from tracer1.executors.tools.knowledge import MAX_RESULT_CHARS, MAX_RESULTS, KnowledgeBase
from tracer1.executors.tools.tables import lookup
from tracer1.executors.tools.units import UNITS, convert_value, run_convert
from tracer1.executors.world import default_world, documents

# ------------------------------------------------------------------ convert


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (100, "C", "F", 212),
        (-40, "F", "C", -40),
        (0, "K", "celsius", -273.15),
        (32, "fahrenheit", "K", 273.15),
        (182, "cm", "inch", 71.653543),
        (1, "mile", "km", 1.609344),
        (3, "feet", "m", 0.9144),
        (1, "kg", "lb", 2.204623),
        (1, "gallon", "l", 3.785412),
        (100, "km/h", "mph", 62.137119),
        (1, "acre", "m2", 4046.856422),
        (1, "km2", "hectares", 100),
        (2, "h", "min", 120),
        (1, "week", "day", 7),
        (1, "Square Miles", "km2", 2.589988),
    ],
)
def test_convert(value, src, dst, expected):
    assert convert_value(value, src, dst) == pytest.approx(expected, abs=1e-6)


def test_convert_prints_canonical_units_and_rounded_value():
    result = run_convert(182, "centimeters", "INCHES")
    assert result.output == "182 cm = 71.653543 inch" and result.value == 71.653543


def test_every_unit_round_trips():
    for alias, unit in UNITS.items():
        back = convert_value(convert_value(12.5, alias, unit.name), unit.name, alias)
        assert back == pytest.approx(12.5), alias


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [("km", "kg", "cannot convert length (km) to mass (kg)"),
     ("C", "m", "cannot convert temperature"),
     ("parsec", "km", "unknown unit 'parsec' (known: area: m2"),
     ("km", "", "unknown unit ''")],
)
def test_convert_errors(src, dst, message):
    with pytest.raises(ToolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert_value(1, src, dst)


# ------------------------------------------------------------------ date


def test_date_arithmetic():
    assert add_days("2024-01-31", 30) == "2024-03-01"
    assert add_days("2024-03-01", -1) == "2024-02-29"  # leap year
    assert days_between("2024-01-01", "2025-01-01") == 366
    assert days_between("2025-01-01", "2024-01-01") == -366
    assert weekday("2026-03-16") == "Monday"
    assert run_date("weekday", "1969-07-20").output == "1969-07-20 is a Sunday"
    assert run_date("between", "2000-01-01", other="2000-03-01").value == 60
    assert run_date(" ADD ", "2000-01-01", days=1).value == "2000-01-02"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"op": "add", "date": "2024-02-30", "days": 1}, "invalid date"),
        ({"op": "add", "date": "24-2-3", "days": 1}, "must be YYYY-MM-DD"),
        ({"op": "add", "date": "0999-12-31", "days": 1}, "years 1000..2999"),
        ({"op": "add", "date": "2999-12-31", "days": 1}, "years 1000..2999"),
        ({"op": "add", "date": "2000-01-01", "days": 9_000_000}, "years 1000..2999"),
        ({"op": "add", "date": "2000-01-01"}, 'op "add" takes date and days'),
        ({"op": "between", "date": "2000-01-01"}, 'op "between" takes date and other'),
        ({"op": "between", "date": "2000-01-01", "other": "2000/01/02"}, "other must be"),
        ({"op": "weekday", "date": "2000-01-01", "days": 3}, 'op "weekday" takes only date'),
        ({"op": "rm -rf", "date": "2000-01-01"}, r"unknown op 'rm -rf' \(ops: add, between"),
    ],
)
def test_date_errors(args, message):
    with pytest.raises(ToolError, match=message):
        run_date(**args)


# ------------------------------------------------------------------ table


def test_table_lookup_is_case_and_space_insensitive():
    world = default_world()
    a, b = world.cities[0].name, world.cities[1].name
    result = lookup(world.tables, " Distances ", f"  {a.upper()} ", b.lower())
    assert result.output == f"distances[{a}, {b}] = {result.value} km"
    assert result.value == world.tables["distances"].cells[(b, a)] > 0  # symmetric
    assert world.tables["distances"].cells[(a, a)] == 0


def test_table_without_row_and_column_lists_headers():
    world = default_world()
    text = lookup(world.tables, "prices").output
    assert "rows: apple, bread" in text and world.tables["prices"].columns[0] in text


@pytest.mark.parametrize(
    ("args", "message"),
    [(("salaries",), "unknown table 'salaries' (tables: distances, prices)"),
     (("prices", "caviar", "x"), "unknown row 'caviar' in table 'prices' \\(rows: apple"),
     (("prices", "apple", "Nowhere Market"), "unknown column 'Nowhere Market'"),
     (("prices", "apple"), "give both row and column")],
)
def test_table_errors(args, message):
    with pytest.raises(ToolError, match=message.replace("(t", r"\(t").replace("s)", r"s\)")):
        lookup(default_world().tables, *args)


# ------------------------------------------------------------------ search


@pytest.fixture(scope="module")
def kb():
    base = KnowledgeBase(documents(default_world()))
    yield base
    base.close()


def test_every_entity_is_found_first_by_its_full_name(kb):
    for title, kind, _ in documents(default_world()):
        hits = kb.search(title)
        assert hits[0][:2] == (title, kind)
        assert len(hits) <= MAX_RESULTS


def test_search_ranks_any_word_when_no_document_has_all(kb):
    city = default_world().cities[3].name
    assert kb.search(f"what is the population of {city}?")[0][0] == city


@pytest.mark.parametrize(
    "query",
    ['"', '""', '"unbalanced', "*", "pop*", "NEAR(", "NEAR(a b, 2)", "OR", "a OR b", "AND NOT",
     "title:foo", "^start", "{title body}: x", "- + ( ) :", "Ünïcödé 日本語 🙂", "\x00\x01",
     "'; DROP TABLE docs; --", "a" * 190, "population" + " OR" * 30],
)
def test_search_is_immune_to_fts_syntax(kb, query):
    try:
        hits = kb.search(query)
    except ToolError as err:  # only a query without any word may fail, and says so
        assert "no words" in str(err)
        return
    assert isinstance(hits, list) and len(hits) <= MAX_RESULTS
    assert kb.search(default_world().people[0].name)  # the index is still intact


def test_search_index_lives_in_memory_only(kb):
    kb.search("anything")
    files = [row[2] for row in kb._connect().execute("PRAGMA database_list")]
    assert files == [""]


def test_search_output_is_bounded():
    from tracer1.executors.tools.knowledge import format_hits

    text = format_hits("q", [("T", "city", "x" * 5000)] * 7)
    assert all(len(line) <= MAX_RESULT_CHARS + 3 for line in text.splitlines())
