"""The params each DVC stage declares are the ones it reads: a changed executor or step
limit (the `suites` section) makes the real `dvc status` report exactly the stages that
build environments, and nothing else.

The pipeline is recorded without running it: every dependency and output dvc.yaml names
is a stand-in file, and `dvc commit` writes the lock a run would (hashes of the stand-ins,
the params' values), so `dvc status` compares params.yaml with it.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tests.helpers import REPO, VENV_BIN, run
from tracer1.config import load_params

DVC = str(VENV_BIN / "dvc")

SUITE_READERS = ("build_dataset", "collect_feedback", "stage2_rft", "evaluate")
"""The stages that build the suites' environments (`envs.base.make_suites`) or execute in
them (the Stage-2 grounded reward)."""


def _stage_paths() -> set[str]:
    """Every dep / out / metric / plot path of dvc.yaml, foreach stages expanded."""
    params = load_params(REPO / "params.yaml")
    fc = params.forecast
    paths = set()
    for stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].values():
        body = stage.get("do", stage)
        keys = list(fc.variants) if "do" in stage else [None]
        for kind in ("deps", "outs", "metrics", "plots"):
            for entry in body.get(kind, []):
                path = entry if isinstance(entry, str) else next(iter(entry))
                path = (path.replace("${forecast.candidate}", fc.candidate)
                        .replace("${forecast.baseline}", fc.baseline))
                paths |= {path.replace("${key}", key) if key else path for key in keys}
    return paths


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A scratch git + DVC repository holding the project's dvc.yaml and params.yaml, every
    stage recorded in dvc.lock as if it had run."""
    root = tmp_path_factory.mktemp("dvc-params")
    for name in ("dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(REPO / name, root / name)
    for path in _stage_paths():
        target = root / path
        if target.suffix:  # a file (report.json, a curve, a figure)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"stand-in for {path}\n")
        else:  # a directory (a model, a dataset, the package code)
            target.mkdir(parents=True, exist_ok=True)
            (target / "stand-in.txt").write_text(f"stand-in for {path}\n")
    run(["git", "init", "-q"], root)
    run([DVC, "init", "-q"], root)
    run([DVC, "config", "core.analytics", "false"], root)
    run([DVC, "commit", "-f", "-q"], root)
    assert _stale(root) == set()  # recorded: nothing to re-run
    return root


def _stale(root) -> set[str]:
    """The stages `dvc status` says must re-run."""
    return set(json.loads(run([DVC, "status", "--json"], root).stdout or "{}"))


def _with_params(root, change) -> set[str]:
    """`_stale` after `change(params)` edits params.yaml; the file is restored after."""
    path = root / "params.yaml"
    original = path.read_text()
    data = yaml.safe_load(original)
    change(data)
    path.write_text(yaml.safe_dump(data))
    try:
        return _stale(root)
    finally:
        path.write_text(original)


def _expected(*stages: str) -> set[str]:
    variants = list(load_params(REPO / "params.yaml").forecast.variants)
    per_variant = {"sft", "stage1_grpo", "collect_feedback", "stage2_rft"}
    return {f"{s}@{v}" for s in stages if s in per_variant for v in variants} | {
        s for s in stages if s not in per_variant}


def test_a_changed_executor_reruns_exactly_the_stages_that_run_the_suites(recorded):
    def passthrough(params):
        params["suites"]["miniwob"]["options"]["executor"] = {"kind": "passthrough"}

    assert _with_params(recorded, passthrough) == _expected(*SUITE_READERS)


def test_a_changed_step_limit_reruns_exactly_the_stages_that_run_the_suites(recorded):
    def longer(params):
        params["suites"]["tooluse"]["options"]["step_limits"][1] += 1

    assert _with_params(recorded, longer) == _expected(*SUITE_READERS)


def test_a_training_setting_reruns_only_its_stage(recorded):
    def faster(params):
        params["sft"]["learning_rate"] *= 2

    assert _with_params(recorded, faster) == _expected("sft")
