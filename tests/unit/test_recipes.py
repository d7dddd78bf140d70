"""Every committed params recipe loads with the strict loader (a renamed field breaks it)."""

from pathlib import Path

import pytest

from tracer1.config import load_params

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_loads(path):
    params = load_params(path)
    assert params.policy.base_model and params.policy.kind == "vlm"
    assert params.policy.dtype == "bfloat16"


def test_there_is_a_recipe():
    assert RECIPES
