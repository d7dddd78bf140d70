"""Defaults live once, in `tracer1.config`: a params file sets only what differs from them.

Every key params.yaml (and each full params recipe) sets must change the loaded `Params`
when removed, except the keys dvc.yaml needs in the file: those it names under `params:`
or interpolates (``${forecast.variants}``), which must be there for DVC to run at all.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO
from tracer1.config import ConfigError, Params, from_dict

PARAMS_FILES = [REPO / "params.yaml", *sorted((REPO / "recipes").glob("*.yaml"))]
"""params.yaml and the full params recipes (`cp recipes/X.yaml params.yaml` runs DVC too)."""


def dvc_named(dvc_yaml: Path) -> tuple[set[str], set[str]]:
    """(sections, keys) dvc.yaml needs in params.yaml: the sections it lists whole under
    `params:` (their values are still chosen freely), and the dotted keys it lists or
    interpolates (kept whole, whatever their value)."""
    text = dvc_yaml.read_text()
    named = {entry for stage in yaml.safe_load(text)["stages"].values()
             for entry in (stage.get("do") or stage).get("params", [])}
    interpolated = set(re.findall(r"\$\{([a-z_][a-z0-9_.]*)\}", text)) - {"key", "item"}
    return {n for n in named if "." not in n}, {n for n in named if "." in n} | interpolated


def _paths(data: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        yield (*prefix, str(key))
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, str(key)))


def _without(data: dict, path: tuple[str, ...]) -> dict:
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[next(k for k in node if str(k) == key)]
    del node[next(k for k in node if str(k) == path[-1])]
    return out


def restated_defaults(data: dict, sections: set[str], keys: set[str]) -> list[str]:
    """The dotted keys of `data` whose removal leaves the loaded `Params` unchanged (they
    restate a default), apart from the dvc-named `sections` (not their contents) and `keys`
    (with their contents)."""
    loaded = from_dict(Params, data)
    out = []
    for path in _paths(data):
        dotted = ".".join(path)
        if dotted in sections or any(dotted == k or dotted.startswith(k + ".") for k in keys):
            continue
        try:
            same = from_dict(Params, _without(data, path)) == loaded
        except ConfigError:  # a required value (an import's format): not a default
            same = False
        if same:
            out.append(dotted)
    return out


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_params_files_set_only_what_differs_from_the_defaults(path):
    sections, keys = dvc_named(REPO / "dvc.yaml")
    data = yaml.safe_load(path.read_text())
    assert restated_defaults(data, sections, keys) == [], (
        f"{path.name} restates config.py defaults: drop these keys")


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_params_files_have_every_key_dvc_names(path):
    sections, keys = dvc_named(REPO / "dvc.yaml")
    data = yaml.safe_load(path.read_text())
    for dotted in sorted(sections | keys):
        node = data
        for part in dotted.split("."):
            assert isinstance(node, dict) and part in node, f"{path.name}: {dotted} missing"
            node = node[part]


def test_dvc_named_keys_and_a_restated_default_is_found():
    sections, keys = dvc_named(REPO / "dvc.yaml")
    assert {"policy", "suites", "tracking", "validate_dataset"} <= sections
    assert {"build_dataset.seeds", "policy.kind", "promote.model_name",
            "forecast.variants", "forecast.candidate"} <= keys
    data = {"sft": {"max_steps": 3, "seed": 0}, "policy": {"lora": {"r": 16}},
            "suites": {"tooluse": {"difficulties": [1, 2, 3], "families": ["a"]}},
            "tracking": {}}
    assert restated_defaults(data, sections, keys) == [
        "sft.seed", "policy.lora", "policy.lora.r", "suites.tooluse.difficulties"]
