"""The action language: round-trip property, strict errors, and a never-raises fuzz test."""

from __future__ import annotations

import doctest
import importlib
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracer1.actions import (
    GRID,
    MAX_PLAN_ACTIONS,
    MAX_PLAN_CHARS,
    MAX_TEXT_CHARS,
    MAX_TOOL_ARGS,
    SCROLL_DIRECTIONS,
    Answer,
    Box,
    Click,
    Done,
    Parsed,
    ParseError,
    Press,
    Scroll,
    Select,
    Tool,
    Type,
    format_action,
    format_plan,
    parse_action,
    parse_plan,
)

# --- strategies ------------------------------------------------------------------

# Characters that stress the lexer: quotes, escapes, newlines (and the exotic line
# breaks str.splitlines would split on), the block tags and grammar punctuation.
_TRICKY = st.sampled_from(
    [
        '"',
        "\\",
        "\n",
        "\r",
        "\t",
        "\x00",
        "\u2028",
        "\x85",
        "</plan>",
        "<plan>",
        "{",
        "}",
        "(",
        ")",
        "=",
        ",",
        ":",
        "é",
        "中",
        "🙂",
        "\\u0041",
        "\\n",
    ]
)
TEXT = st.lists(st.one_of(st.characters(), _TRICKY), max_size=12).map("".join)
TARGET = st.none() | TEXT
COORD = st.integers(0, GRID)
BOX = st.none() | st.builds(Box, COORD, COORD, COORD, COORD)
ARG_VALUE = (
    TEXT
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)
ACTION = st.one_of(
    st.builds(Click, COORD, COORD, TARGET, BOX),
    st.builds(Type, TEXT, TARGET, BOX),
    st.builds(Press, TEXT),
    st.builds(Scroll, st.sampled_from(SCROLL_DIRECTIONS), TARGET, BOX),
    st.builds(Select, TEXT, TARGET, BOX),
    st.builds(Tool.of, TEXT, st.dictionaries(TEXT, ARG_VALUE, max_size=MAX_TOOL_ARGS)),
    st.builds(Answer, TEXT),
    st.just(Done()),
)


def _exact(action):
    """Equality plus exact types and float bits of tool args (1 == 1.0 == True in Python)."""
    if isinstance(action, Tool):
        return action.name, [(k, type(v), repr(v)) for k, v in action.args]
    return action


# --- round trip --------------------------------------------------------------------


@given(ACTION)
def test_action_round_trip(action):
    parsed = parse_action(format_action(action))
    assert parsed == action
    assert _exact(parsed) == _exact(action)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTION, max_size=MAX_PLAN_ACTIONS // 4))
def test_plan_round_trip(actions):
    text = format_plan(actions)
    parsed = parse_plan(text)
    if len(text) > MAX_PLAN_CHARS:  # a very long tool call can push it over
        assert parsed == Parsed((), (parsed.errors[0],)) and "limit" in parsed.errors[0].message
        return
    assert parsed.errors == ()
    assert parsed.actions == tuple(actions)
    assert [_exact(a) for a in parsed.actions] == [_exact(a) for a in actions]


def test_round_trip_examples():
    actions = [
        Click(0, GRID, target='say "hi"\\n', box=Box(0, 0, 10, 10)),
        Type("line1\nline2 </plan> \u2028", target="名前"),
        Tool.of("calc", {"x": 1e-300, "y": -0.0, "z": True, "w": 2**62, "v": "a\\b"}),
        Scroll("left"),
        Answer(""),
        Done(),
    ]
    assert parse_plan(format_plan(actions)) == Parsed(tuple(actions), ())


def test_whitespace_and_keyword_order_are_free():
    text = '<plan>\n  click ( y = 5 ,x=7 ,  target="a" )  \r\n\ttool(args={ }, name="n")\n</plan>'
    assert parse_plan(text) == Parsed((Click(7, 5, target="a"), Tool("n")), ())


def test_prose_before_and_blank_lines_inside_are_ignored():
    text = "I will click.\n(not an action)\n<plan>\n\nclick(x=1, y=2)\n   \ndone()\n</plan>\n"
    assert parse_plan(text) == Parsed((Click(1, 2), Done()), ())


def test_actions_on_the_tag_lines_are_read():
    assert parse_plan("<plan>done()</plan>") == Parsed((Done(),), ())


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("clik(x=1, y=2)", "unknown verb 'clik'"),
        ("click(x=1)", "missing y"),
        ("click(x=1, y=2, z=3)", "no keyword 'z'"),
        ("click(x=1, x=2, y=3)", "duplicate keyword 'x'"),
        ("click(x=1.5, y=2)", "x must be an integer"),
        ('click(x="1", y=2)', "x must be an integer"),
        ("click(x=true, y=2)", "x must be an integer"),
        ("click(x=1001, y=2)", "outside the 0..1000 grid"),
        ("click(x=5, y=-1)", "outside the 0..1000 grid"),
        ("type(text=3)", "text must be a string"),
        ("type(text=alice)", "bare word 'alice'"),
        ('type(text="alice)', "unbalanced quotes"),
        ('type(text="alice"', "missing ')'"),
        ('type(text="alice"))', "unbalanced parentheses"),
        ('type(text="a") extra', "unexpected text"),
        ('type(text="\\x41")', "invalid string literal"),
        ('press(key="a", key="b")', "duplicate keyword 'key'"),
        ('scroll(direction="sideways")', "direction must be one of"),
        ('tool(name="t", args={"a": 1)', "missing '}'"),
        ('tool(name="t", args={"a": 1, "a": 2})', "duplicate tool arg 'a'"),
        ('tool(name="t", args={"a": {"b": 1}})', "flat"),
        ('tool(name="t", args={"a": [1]})', "lists"),
        ('tool(name="t", args={a: 1})', "double-quoted"),
        ('tool(name="t", args={"a": NaN})', "non-finite"),
        ('tool(name="t", args={"a": -Infinity})', "non-finite"),
        ('tool(name="t", args={"a": 1e400})', "non-finite"),
        ('tool(name="t", args={"a": null})', "bare word 'null'"),
        ('tool(name="t", args="{}")', "args must be an object"),
        ('tool(name="t")', "missing args"),
        ('type(text={"a": 1})', "text must be a string"),
        ("done(1)", "expected a keyword"),
        ("click(x=01, y=2)", "malformed number"),
        ("", "empty action"),
    ],
)
def test_parse_action_errors(line, expected):
    result = parse_action(line)
    assert isinstance(result, ParseError), result
    assert result.line == 0
    assert expected in result.message


def test_limits_on_strings_and_tool_args():
    long_text = "x" * (MAX_TEXT_CHARS + 1)
    assert "over the" in parse_action(format_action(Type(long_text))).message
    assert parse_action(format_action(Type(long_text[:-1]))) == Type(long_text[:-1])
    args = {f"k{i}": i for i in range(MAX_TOOL_ARGS + 1)}
    assert "tool args" in parse_action(format_action(Tool.of("t", args))).message


def test_bad_lines_are_skipped_with_their_line_numbers():
    text = 'prose\n<plan>\nclick(x=1, y=2)\nclick(x=1)\n\ntype(text="a")\nfly()\n</plan>'
    parsed = parse_plan(text)
    assert parsed.actions == (Click(1, 2), Type("a"))
    assert [(e.line, e.message.split(" ")[0]) for e in parsed.errors] == [
        (4, "click()"),
        (7, "unknown"),
    ]


def test_missing_tags():
    no_block = parse_plan("click(x=1, y=2)")
    assert no_block.actions == () and no_block.errors == (ParseError(0, "missing <plan> block"),)
    truncated = parse_plan('<plan>\nclick(x=1, y=2)\ntype(text="ab')
    assert truncated.actions == (Click(1, 2),)
    assert [e.line for e in truncated.errors] == [0, 3]
    assert "not closed" in truncated.errors[0].message


def test_only_the_first_block_counts():
    parsed = parse_plan("<plan>\ndone()\n</plan>\nnote\n<plan>\nclick(x=1, y=2)\n</plan>")
    assert parsed.actions == (Done(),)
    assert parsed.errors == (
        ParseError(5, "extra <plan> block ignored: only the first block is read"),
    )


def test_close_tag_inside_a_string_does_not_end_the_block():
    parsed = parse_plan('<plan>\ntype(text="a</plan>b")\ndone()\n</plan>')
    assert parsed == Parsed((Type("a</plan>b"), Done()), ())


def test_too_many_actions():
    parsed = parse_plan(format_plan([Done()] * (MAX_PLAN_ACTIONS + 3)))
    assert len(parsed.actions) == MAX_PLAN_ACTIONS
    assert parsed.errors == (
        ParseError(MAX_PLAN_ACTIONS + 2, f"more than {MAX_PLAN_ACTIONS} actions: rest ignored"),
    )


@pytest.mark.parametrize("bad", [None, 3, b"<plan>done()</plan>", ["<plan>"]])
def test_non_string_input_is_an_error(bad):
    assert parse_plan(bad).errors[0].message.startswith("expected a string")
    assert isinstance(parse_action(bad), ParseError)


def test_oversized_input_is_rejected_up_front():
    huge = "<plan>\n" + "click(x=1, y=2)\n" * 1_000_000 + "</plan>"
    start = time.perf_counter()
    parsed = parse_plan(huge)
    assert time.perf_counter() - start < 0.01
    assert parsed.actions == () and "limit" in parsed.errors[0].message
    assert "limit" in parse_action("x" * (MAX_PLAN_CHARS + 1)).message


@pytest.mark.parametrize(
    "body",
    [
        '"' * 16_000,
        "\\" * 16_000,
        "{" * 16_000,
        "(" * 16_000,
        '"\\' * 8_000,
        'type(text="' + '\\"' * 7_990,
        "</plan" * 2_600,
        'tool(name="t", args={' + '"k": 1, ' * 1_990,
        "click(x=" + "9" * 16_000,
        "\n" * 16_000,
    ],
)
def test_pathological_inputs_stay_fast(body):
    text = ("<plan>\n" + body)[:MAX_PLAN_CHARS]
    start = time.perf_counter()
    parsed = parse_plan(text)
    assert time.perf_counter() - start < 0.25
    assert parsed.errors  # none of these is a clean plan


@given(st.text(max_size=300), st.booleans())
def test_arbitrary_text_never_raises(text, in_block):
    parsed = parse_plan("<plan>\n" + text if in_block else text)
    assert type(parsed) is Parsed
    assert not any("internal" in e.message for e in parsed.errors)
    assert isinstance(
        parse_action(text),
        Click | Type | Press | Scroll | Select | Tool | Answer | Done | ParseError,
    )


# --- fuzz ----------------------------------------------------------------------------

_ALPHABET = 'clicktypressdonetoolanswerxy=(){}[]":,\\-.0123456789 \n<>/planétrue'


def _random_action(rng: random.Random):
    words = ["OK", 'a "quoted" word', "back\\slash", "two\nlines", "é中", "</plan>", ""]
    kind = rng.randrange(8)
    text = rng.choice(words)
    return [
        lambda: Click(rng.randint(0, GRID), rng.randint(0, GRID), rng.choice([None, text])),
        lambda: Type(text, rng.choice([None, "field"])),
        lambda: Press(rng.choice(["enter", "Tab", "ctrl+a"])),
        lambda: Scroll(rng.choice(SCROLL_DIRECTIONS)),
        lambda: Select(text),
        lambda: Tool.of("calc", {"x": rng.random(), "n": rng.randint(-9, 9), "s": text}),
        lambda: Answer(text),
        Done,
    ][kind]()


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.choice((0, 0, 1, 1, 2, 2, 3, 4, 5))
        i = rng.randrange(len(text) + 1)
        if op == 0:  # insert
            text = text[:i] + rng.choice(_ALPHABET) + text[i:]
        elif op == 1:  # delete
            text = text[:i] + text[i + 1 :]
        elif op == 2:  # replace
            text = text[:i] + rng.choice(_ALPHABET) + text[i + 1 :]
        elif op == 3:  # truncate
            text = text[:i]
        elif op == 4:  # duplicate a slice
            j = rng.randrange(len(text) + 1)
            text = text[:i] + text[min(i, j) : max(i, j)] + text[i:]
        else:  # swap two chunks
            j = rng.randrange(len(text) + 1)
            text = text[max(i, j) :] + text[min(i, j) : max(i, j)] + text[: min(i, j)]
    return text


def _fuzz_inputs(n: int, seed: int = 0):
    rng = random.Random(seed)
    pool = [
        format_plan([_random_action(rng) for _ in range(rng.randint(0, 6))]) for _ in range(300)
    ]
    for i in range(n):
        if i % 5 == 0:  # fully random text over the grammar's alphabet
            yield "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 80)))
        else:
            yield _mutate(rng.choice(pool), rng)


def test_fuzz_parse_plan_never_raises():
    n = 100_000
    start = time.perf_counter()
    outcomes = {"clean": 0, "partial": 0, "nothing": 0}
    for i, text in enumerate(_fuzz_inputs(n)):
        parsed = parse_plan(text)
        assert type(parsed) is Parsed
        assert len(parsed.actions) <= MAX_PLAN_ACTIONS
        assert all(type(e) is ParseError for e in parsed.errors)
        assert not any("internal" in e.message for e in parsed.errors), (text, parsed.errors)
        outcomes["clean" if parsed.ok else "partial" if parsed.actions else "nothing"] += 1
        if i % 10 == 0:  # whatever parsed is a valid action: it re-formats to itself
            for action in parsed.actions:
                assert parse_action(format_action(action)) == action
    elapsed = time.perf_counter() - start
    assert min(outcomes.values()) > 0.05 * n, outcomes  # every outcome is well exercised
    assert elapsed < 20, f"fuzz took {elapsed:.1f}s"


@pytest.mark.parametrize("module", ["tracer1.actions", "tracer1._plan_lexer"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
