"""The calculator: correct arithmetic, and hostile expressions refused fast with a clear error."""

from __future__ import annotations

import random
import time

import pytest

from tracer1.executors.tools.base import ToolError
from tracer1.executors.tools.calculator import MAX_EXPRESSION_CHARS, calculate, run_calculator


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * (4 - 1)", 11),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("-2 ** 2", -4),
        ("2 ** -2", 0.25),
        ("+5 - -5", 10),
        ("10 / 4", 2.5),
        ("round(412300 / 312, 2)", 1321.47),
        ("round(2.5)", 2),
        ("abs(-3.5)", 3.5),
        ("max(1, 7, 3) + min(4, 2)", 9),
        ("sqrt(16)", 4.0),
        ("(16 + 14.9 + 22.4) / 3", pytest.approx(17.766667, abs=1e-6)),
        ("2 ** 100", 2**100),
        ("1e3 * 2", 2000.0),
    ],
)
def test_arithmetic(expression, expected):
    assert calculate(expression) == expected


def test_output_is_the_printed_number():
    result = run_calculator("2 / 3")
    assert (result.ok, result.output, result.value) == (True, "0.666667", 0.666667)
    assert run_calculator("10 / 2").output == "5"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "function '__import__' is not allowed"),
        ("__import__('os').system('ls')", "only these functions can be called"),
        ("().__class__", "Attribute is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "only these functions can be called"),
        ("open('/etc/passwd')", "function 'open' is not allowed"),
        ("eval('1')", "function 'eval' is not allowed"),
        ("x", "names are not allowed: 'x'"),
        ("x + 1", "names are not allowed"),
        ("'a' * 3", "only numbers are allowed"),
        ("b'abc'", "only numbers are allowed"),
        ("True + 1", "only numbers are allowed"),
        ("1j * 2", "only numbers are allowed"),
        ("[1, 2][0]", "not allowed"),
        ("(1, 2)", "Tuple is not allowed"),
        ("{1: 2}", "Dict is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("[i for i in (1, 2)]", "ListComp is not allowed"),
        ("(y := 3)", "NamedExpr is not allowed"),
        ("1 if 1 else 2", "IfExp is not allowed"),
        ("1 < 2", "Compare is not allowed"),
        ("1 << 1000", "operator LShift is not allowed"),
        ("~1", "operator Invert is not allowed"),
        ("f'{1}'", "JoinedStr is not allowed"),
        ("...", "only numbers are allowed"),
        ("round(x=1)", "keyword arguments are not allowed"),
        ("max(*(1, 2))", "takes 2..8 arguments"),
        ("(abs)(1)(2)", "only these functions can be called"),
        ("2**10**10", "exponent too large"),
        ("9**9**9", "exponent too large"),
        ("10 ** 101", "exponent too large"),
        ("(2 ** 100) ** 2", "number too large"),
        ("3 ** 100", "number too large"),
        ("99999999999999999999999999999999999999999999", "number too large"),
        ("10**30 * 10**30", "number too large"),
        ("1e308 * 10", "number too large"),
        ("1e999", "number too large"),
        ("1.5 ** 1e4", "exponent too large"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("5 // 0.0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("(-8) ** 0.5", "not a real number"),
        ("sqrt(-1)", "negative"),
        ("round(1.5, 100)", "round(x, n)"),
        ("round(1.5, 0.5)", "round(x, n)"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("1 +", "not a valid expression"),
        ("1; import os", "not a valid expression"),
        ("import os", "not a valid expression"),
        ("1\x00", "not a valid expression"),
        ("-(" * 40 + "1" + ")" * 40, "nested too deeply"),
        ("1" + "+1" * 60, "too complex"),
        ("1" * (MAX_EXPRESSION_CHARS + 1), "too long"),
    ],
)
def test_refused_with_a_clear_error(expression, message):
    start = time.perf_counter()
    with pytest.raises(ToolError) as err:
        calculate(expression)
    assert message in str(err.value)
    assert time.perf_counter() - start < 0.05


def test_random_input_never_escapes_as_another_exception():
    # Hostile model text is arbitrary: only numbers or ToolError may come out, fast.
    rng = random.Random(0)
    alphabet = "0123456789+-*/%().e ,_'\"[]{}<>=~^|&!@absqrtmx:lambd"
    start = time.perf_counter()
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        try:
            value = calculate(text)
        except ToolError:
            continue
        assert isinstance(value, int | float) and not isinstance(value, bool)
    assert time.perf_counter() - start < 3.0
