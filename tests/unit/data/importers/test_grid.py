"""Pixels / unit scale -> the 0-1000 grid; boxes clipped, broken geometry refused."""

import pytest

from tracer1.actions import Box
from tracer1.data.importers.errors import FieldError
from tracer1.data.importers.grid import box_to_grid, point_to_grid, to_grid, unit_point


def test_points():
    assert point_to_grid(1080, 2400, (1080, 2400), "p") == (1000, 1000)
    assert point_to_grid(0, 1, (1080, 2400), "p") == (0, 0)
    assert unit_point(0.1234, 0.9876, "p") == (123, 988)


@pytest.mark.parametrize("value, extent, field", [(-1, 100, "x"), (101, 100, "x"),
                                                 (float("nan"), 100, "x"), (5, 0, "x")])
def test_bad_points(value, extent, field):
    with pytest.raises(FieldError) as info:
        to_grid(value, extent, field)
    assert info.value.field == field


def test_boxes_clip_and_refuse():
    assert box_to_grid((-10, -10, 54, 120), (108, 240), "b") == Box(0, 0, 500, 500)
    with pytest.raises(FieldError, match="inverted box"):
        box_to_grid((50, 0, 10, 10), (100, 100), "b")
    with pytest.raises(FieldError, match="lies outside"):
        box_to_grid((200, 200, 300, 300), (100, 100), "b")
