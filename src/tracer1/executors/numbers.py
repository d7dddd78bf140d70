"""How tools print numbers: one text form, so later calls can quote earlier outputs exactly."""

from __future__ import annotations

import math
import re

_DIGITS = re.compile(r"^[-+]?[0-9]+$")


def format_number(value: int | float) -> str:
    """The one text form of a number in tool outputs: at most 6 decimals, no trailing zeros.

    Later calls quote these strings, so every tool prints numbers the same way.

    >>> format_number(12.0), format_number(2 / 3), format_number(-0.0), format_number(10**20)
    ('12', '0.666667', '0', '100000000000000000000')
    """
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    rounded = round(value, 6)
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    if abs(rounded) >= 1e15:
        return format(rounded, ".15g")
    return f"{rounded:.6f}".rstrip("0").rstrip(".")


def parse_number(text: str) -> int | float:
    """Inverse of `format_number` for the generator's own bookkeeping.

    >>> parse_number("12"), parse_number("0.5")
    (12, 0.5)
    """
    text = text.strip()
    return int(text) if _DIGITS.match(text) else float(text)
