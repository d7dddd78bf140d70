"""`date(op, date, days?, other?)`: calendar arithmetic on ISO dates within a bounded range.

>>> add_days("2024-01-31", 30)
'2024-03-01'
>>> days_between("2024-01-01", "2024-12-31"), weekday("2024-02-29")
(365, 'Thursday')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from tracer1.executors.tools.base import Param, ToolError, ToolResult, ToolSpec, register_tool

MIN_YEAR, MAX_YEAR = 1000, 2999
_ISO = re.compile(r"^\s*([0-9]{4})-([0-9]{2})-([0-9]{2})\s*$")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_date(text: str, label: str = "date") -> dt.date:
    match = _ISO.match(text)
    if not match:
        raise ToolError(f"{label} must be YYYY-MM-DD, got {text[:40]!r}")
    try:
        day = dt.date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise ToolError(f"invalid {label} {text[:40]!r}: {exc}") from None
    _check_year(day)
    return day


def _check_year(day: dt.date) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ToolError(f"dates must lie in years {MIN_YEAR}..{MAX_YEAR}")


def add_days(date: str, days: int) -> str:
    start = parse_date(date)
    try:
        end = start + dt.timedelta(days=days)
    except OverflowError:
        raise ToolError(f"dates must lie in years {MIN_YEAR}..{MAX_YEAR}") from None
    _check_year(end)
    return end.isoformat()


def days_between(date: str, other: str) -> int:
    """Days from `date` to `other` (negative when `other` is earlier)."""
    return (parse_date(other, "other") - parse_date(date)).days


def weekday(date: str) -> str:
    return _WEEKDAYS[parse_date(date).weekday()]


def _op_add(date: str, days: int | None, other: str | None) -> ToolResult:
    if days is None or other is not None:
        raise ToolError('op "add" takes date and days, e.g. date(op="add", date="2024-01-31", '
                        'days=30)')
    end = add_days(date, days)
    return ToolResult(True, f"{date.strip()} + {days} days = {end}", end)


def _op_between(date: str, days: int | None, other: str | None) -> ToolResult:
    if other is None or days is not None:
        raise ToolError('op "between" takes date and other, e.g. date(op="between", '
                        'date="2024-01-01", other="2024-03-01")')
    n = days_between(date, other)
    return ToolResult(True, f"from {date.strip()} to {other.strip()}: {n} days", n)


def _op_weekday(date: str, days: int | None, other: str | None) -> ToolResult:
    if days is not None or other is not None:
        raise ToolError('op "weekday" takes only date, e.g. date(op="weekday", date="2024-02-29")')
    name = weekday(date)
    return ToolResult(True, f"{date.strip()} is a {name}", name)


_OPS: dict[str, Callable[[str, int | None, str | None], ToolResult]] = {
    "add": _op_add,
    "between": _op_between,
    "weekday": _op_weekday,
}


def run_date(op: str, date: str, days: int | None = None, other: str | None = None) -> ToolResult:
    handler = _OPS.get(op.strip().lower())
    if handler is None:
        raise ToolError(f"unknown op {op[:40]!r} (ops: {', '.join(_OPS)})")
    return handler(date, days, other)


@register_tool("date")
def make_date(world: object = None) -> ToolSpec:
    return ToolSpec(
        name="date",
        params=(Param("op", "str", max_chars=16), Param("date", "str", max_chars=32),
                Param("days", "int", required=False),
                Param("other", "str", required=False, max_chars=32)),
        doc='dates YYYY-MM-DD: op="add" (date + days), "between" (days from date to other), '
            '"weekday" (day of the week)',
        run=run_date,
    )
