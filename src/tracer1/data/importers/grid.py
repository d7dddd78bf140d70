"""Source coordinates -> the action language's 0-1000 grid.

Formats give points in screen pixels (AndroidControl, Mind2Web), on a 0-1
scale (AgentNet) or already on 0-1000 (GUI-Odyssey: its points and its SAM2 boxes).
Everything becomes an integer on the grid, rounded to the nearest unit. A point
outside the screen is a record error, not something to clamp: it means the record or
its screen size is wrong. A target box may hang over the screen edge (elements scrolled half out
of view) and is clipped; a box entirely off screen or inverted is an error.

>>> to_grid(540, 1080, "x")
500
>>> box_to_grid((0, 100, 1080, 300), (1080, 2400), "box")
Box(left=0, top=42, right=1000, bottom=125)
"""

from __future__ import annotations

import math

from tracer1.actions import GRID, Box
from tracer1.data.importers.errors import FieldError

Size = tuple[int, int]  # (width, height) in pixels


def to_grid(value: float, extent: float, where: str) -> int:
    """`value` on [0, extent] -> an integer on [0, GRID]; outside the screen is an error."""
    if not math.isfinite(value):
        raise FieldError(where, f"{value} is not a finite number")
    if extent <= 0:
        raise FieldError(where, f"screen extent {extent} must be positive")
    if not 0 <= value <= extent:
        raise FieldError(where, f"{_num(value)} is outside the {_num(extent)}-px screen"
                         if extent != 1 else f"{_num(value)} is outside 0..1")
    return min(GRID, max(0, round(value / extent * GRID)))


def point_to_grid(x: float, y: float, size: Size, where: str) -> tuple[int, int]:
    """A pixel point -> grid (x, y); `where` names the record field for errors."""
    width, height = size
    return to_grid(x, width, f"{where}.x"), to_grid(y, height, f"{where}.y")


def unit_point(x: float, y: float, where: str) -> tuple[int, int]:
    """A point on the 0-1 scale -> grid (x, y)."""
    return to_grid(x, 1, f"{where}.x"), to_grid(y, 1, f"{where}.y")


def grid_point(x: float, y: float, where: str) -> tuple[int, int]:
    """A point already on 0-1000 (GUI-Odyssey) -> integers, range-checked."""
    return to_grid(x, GRID, f"{where}.x"), to_grid(y, GRID, f"{where}.y")


def box_to_grid(ltrb: tuple[float, float, float, float], size: Size, where: str) -> Box:
    """A pixel box (left, top, right, bottom) -> a grid Box, clipped to the screen."""
    left, top, right, bottom = ltrb
    width, height = size
    if not all(math.isfinite(v) for v in ltrb):
        raise FieldError(where, f"non-finite box {list(ltrb)}")
    if right < left or bottom < top:
        raise FieldError(where, f"inverted box {list(ltrb)} (right < left or bottom < top)")
    cl, ct = min(max(left, 0), width), min(max(top, 0), height)
    cr, cb = min(max(right, 0), width), min(max(bottom, 0), height)
    if cr <= cl or cb <= ct:
        raise FieldError(where, f"box {list(ltrb)} lies outside the {width}x{height} screen")
    scale_x, scale_y = GRID / width, GRID / height
    return Box(round(cl * scale_x), round(ct * scale_y), round(cr * scale_x), round(cb * scale_y))


def grid_box(ltrb: tuple[float, float, float, float], where: str) -> Box:
    """A box already on 0-1000 (GUI-Odyssey's ``sam2_bbox``) -> a grid Box, range-checked.

    >>> grid_box((120.4, 80, 300, 140.6), "sam2_bbox")
    Box(left=120, top=80, right=300, bottom=141)
    """
    if not all(math.isfinite(v) for v in ltrb):
        raise FieldError(where, f"non-finite box {list(ltrb)}")
    left, top, right, bottom = (to_grid(v, GRID, f"{where}[{i}]") for i, v in enumerate(ltrb))
    if right < left or bottom < top:
        raise FieldError(where, f"inverted box {list(ltrb)} (right < left or bottom < top)")
    return Box(left, top, right, bottom)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["Size", "box_to_grid", "grid_box", "grid_point", "point_to_grid", "to_grid",
           "unit_point"]
