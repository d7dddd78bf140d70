"""The `>>>` examples in the rewards' docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["forecast", "grounded", "plan_format", "similarity", "text", "wrappers"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(f"tracer1.rewards.{name}"))
    assert result.attempted > 0 and result.failed == 0
