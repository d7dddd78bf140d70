"""`convert(value, from_unit, to_unit)`: table-driven unit conversion.

Every unit is an affine map to its dimension's base unit,
``base = value * factor + offset``; only temperatures have an offset.

>>> round(convert_value(100, "C", "F"), 6)
212.0
>>> round(convert_value(182, "cm", "inch"), 4)
71.6535
"""

from __future__ import annotations

from dataclasses import dataclass

from tracer1.executors.tools.base import (
    Param,
    ToolError,
    ToolResult,
    ToolSpec,
    format_number,
    parse_number,
    register_tool,
)


@dataclass(frozen=True)
class Unit:
    name: str
    dimension: str
    factor: float
    offset: float = 0.0


_F_OFFSET = 273.15 - 32 * 5 / 9

# (canonical name, dimension, factor to base, offset, aliases). Bases: m, kg, s,
# l, m/s, m2, K.
_TABLE: tuple[tuple[str, str, float, float, tuple[str, ...]], ...] = (
    ("mm", "length", 0.001, 0, ("millimeter", "millimeters", "millimetre", "millimetres")),
    ("cm", "length", 0.01, 0, ("centimeter", "centimeters", "centimetre", "centimetres")),
    ("m", "length", 1.0, 0, ("meter", "meters", "metre", "metres")),
    ("km", "length", 1000.0, 0, ("kilometer", "kilometers", "kilometre", "kilometres")),
    ("inch", "length", 0.0254, 0, ("in", "inches")),
    ("foot", "length", 0.3048, 0, ("ft", "feet")),
    ("yard", "length", 0.9144, 0, ("yd", "yards")),
    ("mile", "length", 1609.344, 0, ("mi", "miles")),
    ("mg", "mass", 1e-6, 0, ("milligram", "milligrams")),
    ("g", "mass", 0.001, 0, ("gram", "grams")),
    ("kg", "mass", 1.0, 0, ("kilogram", "kilograms")),
    ("tonne", "mass", 1000.0, 0, ("t", "tonnes", "metric ton", "metric tons")),
    ("oz", "mass", 0.028349523125, 0, ("ounce", "ounces")),
    ("lb", "mass", 0.45359237, 0, ("pound", "pounds", "lbs")),
    ("ms", "time", 0.001, 0, ("millisecond", "milliseconds")),
    ("s", "time", 1.0, 0, ("sec", "second", "seconds")),
    ("min", "time", 60.0, 0, ("minute", "minutes")),
    ("h", "time", 3600.0, 0, ("hr", "hour", "hours")),
    ("day", "time", 86400.0, 0, ("d", "days")),
    ("week", "time", 604800.0, 0, ("wk", "weeks")),
    ("ml", "volume", 0.001, 0, ("milliliter", "milliliters", "millilitre", "millilitres")),
    ("l", "volume", 1.0, 0, ("liter", "liters", "litre", "litres")),
    ("m3", "volume", 1000.0, 0, ("cubic meter", "cubic meters")),
    ("gallon", "volume", 3.785411784, 0, ("gal", "gallons")),
    ("quart", "volume", 0.946352946, 0, ("qt", "quarts")),
    ("pint", "volume", 0.473176473, 0, ("pt", "pints")),
    ("cup", "volume", 0.2365882365, 0, ("cups",)),
    ("m/s", "speed", 1.0, 0, ("mps",)),
    ("km/h", "speed", 1 / 3.6, 0, ("kph", "kmh")),
    ("mph", "speed", 0.44704, 0, ("mi/h",)),
    ("knot", "speed", 0.514444, 0, ("kn", "knots")),
    ("m2", "area", 1.0, 0, ("square meter", "square meters", "sq m")),
    ("km2", "area", 1e6, 0, ("square kilometer", "square kilometers", "sq km")),
    ("hectare", "area", 1e4, 0, ("ha", "hectares")),
    ("acre", "area", 4046.8564224, 0, ("ac", "acres")),
    ("mile2", "area", 2589988.110336, 0, ("square mile", "square miles", "sq mi")),
    ("K", "temperature", 1.0, 0, ("kelvin",)),
    ("C", "temperature", 1.0, 273.15, ("celsius", "degc", "°c")),
    ("F", "temperature", 5 / 9, _F_OFFSET, ("fahrenheit", "degf", "°f")),
)


def _build_units() -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for name, dimension, factor, offset, aliases in _TABLE:
        unit = Unit(name, dimension, factor, offset)
        for alias in (name, *aliases):
            units[alias.lower()] = unit
    return units


UNITS = _build_units()
DIMENSIONS = sorted({u.dimension for u in UNITS.values()})


def units_of(dimension: str) -> list[str]:
    return [name for name, dim, *_ in _TABLE if dim == dimension]


def find_unit(text: str) -> Unit:
    key = " ".join(text.strip().lower().split())
    try:
        return UNITS[key]
    except KeyError:
        known = "; ".join(f"{d}: {', '.join(units_of(d))}" for d in DIMENSIONS)
        raise ToolError(f"unknown unit {text[:40]!r} (known: {known})") from None


def convert_value(value: float, from_unit: str, to_unit: str) -> float:
    """Convert `value`; raises ToolError for unknown units or mismatched dimensions."""
    src, dst = find_unit(from_unit), find_unit(to_unit)
    if src.dimension != dst.dimension:
        raise ToolError(f"cannot convert {src.dimension} ({src.name}) to "
                        f"{dst.dimension} ({dst.name})")
    return (value * src.factor + src.offset - dst.offset) / dst.factor


def run_convert(value: float, from_unit: str, to_unit: str) -> ToolResult:
    result = convert_value(value, from_unit, to_unit)
    src, dst = find_unit(from_unit).name, find_unit(to_unit).name
    text = format_number(result)
    # `value` is the printed number: later calls can only quote what was printed.
    return ToolResult(True, f"{format_number(value)} {src} = {text} {dst}", parse_number(text))


@register_tool("convert")
def make_convert(world: object = None) -> ToolSpec:
    return ToolSpec(
        name="convert",
        params=(Param("value", "number"), Param("from_unit", "str", max_chars=32),
                Param("to_unit", "str", max_chars=32)),
        doc="unit conversion; units: " + "; ".join(
            f"{d} {' '.join(units_of(d))}" for d in DIMENSIONS),
        run=run_convert,
    )
