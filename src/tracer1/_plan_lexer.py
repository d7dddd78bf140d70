"""Syntax of the action language: find the `<plan>` block, lex `verb(key=value, ...)` lines.

Private to `tracer1.actions`, which owns the meaning (verbs, keywords, ranges); this
module knows only the shape. Model output is hostile input, so every scan is linear:
`str.find` for the block, one `findall` per line with a token regex that cannot
backtrack, then a recursive descent over the tokens, and `json.loads` only on a string
literal that has escapes. Problems raise `LexError`, which `tracer1.actions` turns into
`ParseError` values.

>>> lex_call('click(x=3, y=4, target="OK")')
('click', [('x', 3), ('y', 4), ('target', 'OK')])
>>> lex_call('tool(name="calc", args={"n": 2.5, "ok": true})')
('tool', [('name', 'calc'), ('args', (('n', 2.5), ('ok', True)))])
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

OPEN, CLOSE = "<plan>", "</plan>"

Scalar = str | int | float | bool
Object = tuple[tuple[str, Scalar], ...]  # a flat {"key": scalar} object, in input order
Value = Scalar | Object

# Tokens for one `findall`: every alternative always consumes at least one character
# and none can fail after a long scan (an unterminated string still matches, up to the
# end of the line), so tokenising is one linear pass, whatever the input. Whitespace
# matches nothing and is skipped.
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"?'  # a string, maybe unterminated (checked in _string)
    r"|-?[0-9][0-9A-Za-z_.+\-]*"  # a number, loosely (checked against _NUMBER)
    r"|-?[A-Za-z_][A-Za-z0-9_]*"  # a name; with '-' a word like -Infinity
    r"|\S"  # punctuation or a stray character
)
_CLOSED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# JSON's number grammar: optional groups after the integer part, so no search.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CONTROL = re.compile(r"[\x00-\x1f]")  # JSON forbids raw control characters in strings
_STRING_STOP = re.compile(r'["\\]')  # inside a string only a quote or an escape matters
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NEGATIVE_DIGITS = frozenset(f"-{d}" for d in range(10))
_NON_FINITE = frozenset({"NaN", "nan", "Infinity", "infinity", "inf", "Inf"})


class LexError(ValueError):
    """A syntax problem in one line (or in the block structure)."""


@dataclass(frozen=True)
class Block:
    """The first `<plan>` block: its non-blank lines and whole-block problems.

    `lines` holds (1-based line number in the input, text); `problems` holds
    (line, message) with line 0 meaning the whole input.
    """

    lines: tuple[tuple[int, str], ...]
    problems: tuple[tuple[int, str], ...]


def close_tag_at(line: str) -> int:
    """Index of the first `</plan>` outside a string literal in `line`, or -1.

    A string value may legitimately contain "</plan>" (`type(text="</plan>")`), so
    the block end is found by a quote-aware scan, not by a plain search.

    >>> close_tag_at('done()</plan>')
    6
    >>> close_tag_at('type(text="</plan>")')
    -1
    """
    close = line.find(CLOSE)
    i, in_string = 0, False
    while close >= 0:
        if in_string:
            stop = _STRING_STOP.search(line, i)
            if stop is None:
                return -1  # unterminated string: the rest of the line is inside it
            i = stop.end() + (1 if stop.group() == "\\" else 0)
            in_string = stop.group() == "\\"
            continue
        if close < i:  # the tag we knew of was inside the string just left: look further on
            close = line.find(CLOSE, i)
            if close < 0:
                return -1
        quote = line.find('"', i)
        if quote < 0 or close < quote:
            return close
        i, in_string = quote + 1, True
    return -1


def find_block(text: str) -> Block:
    """Split out the body of the first `<plan>` block, line by line.

    Text before `<plan>` is ignored (a model may think aloud first); so is text after
    `</plan>`, except that a second `<plan>` is reported, because only the first block
    counts. Without `</plan>` the lines up to the end are still returned (a truncated
    completion keeps the credit for what it did say) along with the problem.
    """
    start = text.find(OPEN)
    if start < 0:
        return Block((), ((0, f"missing {OPEN} block"),))
    line_no = text.count("\n", 0, start) + 1
    pos = start + len(OPEN)
    lines: list[tuple[int, str]] = []
    while True:
        newline = text.find("\n", pos)
        end = len(text) if newline < 0 else newline
        segment = text[pos:end]
        cut = close_tag_at(segment)
        body = segment if cut < 0 else segment[:cut]
        if body.strip():
            lines.append((line_no, body))
        if cut >= 0:
            return Block(tuple(lines), _after_block(text, pos + cut + len(CLOSE)))
        if newline < 0:
            return Block(tuple(lines), ((0, f"missing {CLOSE}: the plan block is not closed"),))
        pos, line_no = newline + 1, line_no + 1


def _after_block(text: str, pos: int) -> tuple[tuple[int, str], ...]:
    extra = text.find(OPEN, pos)
    if extra < 0:
        return ()
    line = text.count("\n", 0, extra) + 1
    return ((line, f"extra {OPEN} block ignored: only the first block is read"),)


def lex_call(line: str) -> tuple[str, list[tuple[str, Value]]]:
    """Lex `verb(key=value, ...)` into the verb and the keyword pairs, in input order."""
    return _Parser(_TOKEN.findall(line)).call()


class _Parser:
    """Recursive descent over one line's tokens; each method consumes one item or raises.

    Tokens are plain strings from one `findall` (one C-level pass); a token's first
    character says what it is: '"' string, digit or '-' number, letter or '_' name,
    anything else punctuation or a stray character.
    """

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i] if self.i < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        self.i += 1
        return token

    def expect(self, char: str, message: str) -> None:
        token = self.take()
        if token != char:
            raise LexError(_cut_off(token) or message)

    def name(self, what: str) -> str:
        token = self.take()
        if token[:1] not in _NAME_START:
            raise LexError(_cut_off(token) or f"expected {what}, got {token!r}")
        return token

    def call(self) -> tuple[str, list[tuple[str, Value]]]:
        if not self.tokens:
            raise LexError("empty action")
        verb = self.name("an action name like click(...)")
        self.expect("(", f"expected '(' after {verb!r}")
        pairs: list[tuple[str, Value]] = []
        if self.peek() != ")":
            while True:
                key = self.name("a keyword")
                self.expect("=", f"expected '=' after {key!r}")
                pairs.append((key, self.value(allow_object=True)))
                if self.peek() != ",":
                    break
                self.i += 1
        self.expect(")", f"expected ',' or ')', got {self.peek()!r}")
        if self.i < len(self.tokens):
            token = self.take()
            what = "unbalanced parentheses" if token == ")" else "unexpected text"
            raise LexError(f"{what} after ')': {token[:20]!r}")
        return verb, pairs

    def value(self, allow_object: bool) -> Value:
        token = self.take()
        first = token[:1]
        if first == '"':
            return _string(token)
        if first.isdigit() or token[:2] in _NEGATIVE_DIGITS:
            return _number(token)
        if first in _NAME_START or (first == "-" and token[1:2] in _NAME_START):
            return _word(token)
        if token == "{":
            if not allow_object:
                raise LexError("tool args must be flat: no nested objects")
            return self.object()
        if token == "[":
            raise LexError("lists are not values of the action language")
        raise LexError(_cut_off(token) or f"expected a value, got {token!r}")

    def object(self) -> Object:
        pairs: list[tuple[str, Scalar]] = []
        if self.peek() == "}":
            self.i += 1
            return ()
        while True:
            token = self.take()
            if token[:1] != '"':
                got = token or "end of line"
                raise LexError(f"tool args keys must be double-quoted strings, got {got!r}")
            key = _string(token)
            self.expect(":", f"expected ':' after tool arg key {key!r}")
            pairs.append((key, self.value(allow_object=False)))  # type: ignore[arg-type]
            token = self.take()
            if token == "}":
                return tuple(pairs)
            if token != ",":
                if token in ("", ")"):
                    raise LexError("unbalanced braces: missing '}'")
                raise LexError(f"expected ',' or '}}' in tool args, got {token[:20]!r}")


def _cut_off(token: str) -> str | None:
    """The message when the line ended early: that can only mean unbalanced brackets."""
    return "unbalanced parentheses: missing ')'" if token == "" else None


def _string(token: str) -> str:
    raw = token[1:-1]
    # The token regex accepts an unterminated string (so it never fails and rescans);
    # closed means: ends with a quote that is not itself escaped.
    closed = len(token) > 1 and token[-1] == '"'
    if closed and "\\" in raw:
        closed = _CLOSED_STRING.fullmatch(token) is not None
    if not closed:
        raise LexError("unterminated string (unbalanced quotes)")
    if "\\" not in raw and not _CONTROL.search(raw):
        return raw  # nothing to decode: skip json.loads (the common case)
    try:
        return json.loads(token)
    except ValueError as exc:  # bad escape, raw control character
        reason = getattr(exc, "msg", "bad literal").removesuffix(" at")
        raise LexError(f"invalid string literal: {reason}") from None


def _number(token: str) -> int | float:
    m = _NUMBER.fullmatch(token)
    if m is None:
        raise LexError(f"malformed number {token[:20]!r}")
    if m.group(1) or m.group(2):
        value = float(token)
        if not math.isfinite(value):
            raise LexError(f"non-finite number {token[:20]!r}")
        return value
    try:
        return int(token)
    except ValueError:  # over Python's int-from-string digit limit
        raise LexError("integer too large") from None


def _word(token: str) -> bool:
    if token in ("true", "false"):
        return token == "true"
    if token.lstrip("-") in _NON_FINITE:
        raise LexError(f"non-finite number {token!r}")
    if token[0] == "-":
        raise LexError(f"malformed number {token[:20]!r}")
    raise LexError(f"expected a value, got bare word {token!r} (strings need double quotes)")
