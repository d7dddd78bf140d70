"""`calculator(expression)`: arithmetic by a whitelisted walk over the parsed syntax tree.

The expression is parsed with `ast.parse` (syntax tree only, never compiled to
code or evaluated by Python) and every node type is checked against a
whitelist. Each operation is bounded *before* it is computed, so hostile input
such as ``9**9**9`` is refused in microseconds instead of exhausting memory.

>>> calculate("2 + 3 * (4 - 1)")
11
>>> calculate("round(412300 / 312, 2)")
1321.47
>>> run_calculator("__import__('os')")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tracer1.executors.tools.base.ToolError: function '__import__' is not allowed (allowed: ...)
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from tracer1.executors.tools.base import (
    Param,
    ToolError,
    ToolResult,
    ToolSpec,
    format_number,
    parse_number,
    register_tool,
)

MAX_EXPRESSION_CHARS = 200
MAX_NODES = 100
MAX_DEPTH = 32
MAX_EXPONENT = 100
MAX_INT_BITS = 128  # |ints| < 2**128 ~ 3.4e38, far beyond any task, tiny for the CPU
MAX_FLOAT = 1e300
MAX_ROUND_DIGITS = 10
MAX_FUNCTION_ARGS = 8

Number = int | float


def _check(value: Number) -> Number:
    """Bound every intermediate result."""
    if isinstance(value, complex):  # e.g. (-8) ** 0.5
        raise ToolError("result is not a real number")
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise ToolError("number too large")
    elif not math.isfinite(value) or abs(value) > MAX_FLOAT:
        raise ToolError("number too large")
    return value


def _mul(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ToolError("number too large")
    return a * b


def _pow(a: Number, b: Number) -> Number:
    if abs(b) > MAX_EXPONENT:
        raise ToolError(f"exponent too large (|exponent| <= {MAX_EXPONENT})")
    if isinstance(a, int) and isinstance(b, int) and b > 0:
        # a**b has more than (bit_length(a) - 1) * b bits: refuse before computing
        # what is surely too large; what passes costs at most ~MAX_INT_BITS + b bits.
        if (a.bit_length() - 1) * b > MAX_INT_BITS:
            raise ToolError("number too large")
    try:
        return a**b
    except OverflowError:
        raise ToolError("number too large") from None


def _div(a: Number, b: Number) -> Number:
    return a / b


def _floordiv(a: Number, b: Number) -> Number:
    return a // b


def _mod(a: Number, b: Number) -> Number:
    return a % b


_BINARY: dict[type, Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}
_UNARY: dict[type, Callable[[Number], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _round(x: Number, digits: Number = 0) -> Number:
    if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
        raise ToolError(f"round(x, n) needs an integer n with |n| <= {MAX_ROUND_DIGITS}")
    return round(x, digits) if digits else round(x)


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise ToolError("sqrt of a negative number")
    return math.sqrt(x)


# name -> (function, min args, max args)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "abs": (abs, 1, 1),
    "max": (max, 2, MAX_FUNCTION_ARGS),
    "min": (min, 2, MAX_FUNCTION_ARGS),
    "round": (_round, 1, 2),
    "sqrt": (_sqrt, 1, 1),
}
_ALLOWED = ", ".join(sorted(_FUNCTIONS))


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise ToolError(f"expression nested too deeply (max depth {MAX_DEPTH})")
    match node:
        case ast.Expression(body=body):
            return _eval(body, depth + 1)
        case ast.Constant(value=value):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ToolError(f"only numbers are allowed, got {type(value).__name__} literal")
            return _check(value)
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            a, b = _eval(left, depth + 1), _eval(right, depth + 1)
            return _check(_BINARY[type(op)](a, b))
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _check(_UNARY[type(op)](_eval(operand, depth + 1)))
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]):
            if name not in _FUNCTIONS:
                raise ToolError(f"function {name[:40]!r} is not allowed (allowed: {_ALLOWED})")
            func, lo, hi = _FUNCTIONS[name]
            if not lo <= len(args) <= hi or any(isinstance(a, ast.Starred) for a in args):
                raise ToolError(f"{name}() takes {lo}..{hi} arguments")
            return _check(func(*(_eval(a, depth + 1) for a in args)))
        case ast.Call(func=ast.Name()):
            raise ToolError("keyword arguments are not allowed")
        case ast.Call():
            raise ToolError(f"only these functions can be called: {_ALLOWED}")
        case ast.Name(id=name):
            raise ToolError(f"names are not allowed: {name[:40]!r} (use numbers)")
        case ast.BinOp(op=op) | ast.UnaryOp(op=op):
            raise ToolError(f"operator {type(op).__name__} is not allowed")
        case _:
            raise ToolError(f"{type(node).__name__} is not allowed in an expression")


def calculate(expression: str) -> Number:
    """Evaluate an arithmetic expression within the bounds above; raises ToolError."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"expression too long ({len(expression)} chars, "
                        f"max {MAX_EXPRESSION_CHARS})")
    if not expression.strip():
        raise ToolError("empty expression")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ToolError(f"not a valid expression ({type(exc).__name__})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolError(f"expression too complex (max {MAX_NODES} nodes)")
    try:
        return _eval(tree, 0)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (OverflowError, ValueError, TypeError, RecursionError) as exc:
        raise ToolError(f"cannot compute: {type(exc).__name__}") from None


def run_calculator(expression: str) -> ToolResult:
    text = format_number(calculate(expression))
    # `value` is the printed number: later calls can only quote what was printed.
    return ToolResult(True, text, parse_number(text))


@register_tool("calculator")
def make_calculator(world: object = None) -> ToolSpec:
    return ToolSpec(
        name="calculator",
        params=(Param("expression", "str", max_chars=MAX_EXPRESSION_CHARS),),
        doc=f"arithmetic: numbers, + - * / // % ** ( ), functions {_ALLOWED}",
        run=run_calculator,
    )
