"""Every imported dataset of params.yaml is a `build_dataset` dep in dvc.yaml (DVC cannot read
deps from params, so a forgotten one means `dvc repro` misses a changed dataset)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.helpers import REPO
from tracer1.config import load_params


def missing_import_deps(params_path: Path, dvc_path: Path) -> list[str]:
    """Import paths of `params_path` that no `build_dataset` dep of `dvc_path` covers."""
    deps = yaml.safe_load(dvc_path.read_text())["stages"]["build_dataset"]["deps"]
    covered = [Path(d) for d in deps]
    return [f"build_dataset.imports.{name}.path: {source.path}"
            for name, source in sorted(load_params(params_path).build_dataset.imports.items())
            if not any(Path(source.path) == d or d in Path(source.path).parents
                       for d in covered)]


def test_the_repo_lists_every_import_path_as_a_dep():
    assert missing_import_deps(REPO / "params.yaml", REPO / "dvc.yaml") == []


def test_a_forgotten_import_dep_is_named(tmp_path):
    params, dvc = tmp_path / "params.yaml", tmp_path / "dvc.yaml"
    params.write_text("build_dataset:\n  imports:\n"
                      "    q: {format: gaia, path: data/external/gaia/2023}\n")
    shutil.copy(REPO / "dvc.yaml", dvc)
    assert missing_import_deps(params, dvc) == [
        "build_dataset.imports.q.path: data/external/gaia/2023"]
    spec = yaml.safe_load(dvc.read_text())
    spec["stages"]["build_dataset"]["deps"].append("data/external/gaia")
    dvc.write_text(yaml.safe_dump(spec))
    assert missing_import_deps(params, dvc) == []
