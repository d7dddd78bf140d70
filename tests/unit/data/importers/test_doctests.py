"""The importer modules' docstring examples run (they document the mapping rules)."""

import doctest
import importlib

import pytest

MODULES = [
    "tracer1.data.importers.conventions",
    "tracer1.data.importers.fields",
    "tracer1.data.importers.grid",
    "tracer1.data.importers.sources",
    "tracer1.data.importers.splits",
    "tracer1.data.importers.formats.agentnet",
    "tracer1.data.importers.formats.gta",
    "tracer1.data.importers.formats.gui_odyssey",
    "tracer1.data.importers.formats.mind2web",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
