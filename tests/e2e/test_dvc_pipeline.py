"""The main job on a tiny budget: `dvc repro` on a fresh copy of the project."""

import hashlib
import json
import shutil

import pytest

from tests.helpers import run

pytestmark = pytest.mark.e2e


def digest(path):
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_repro_validates_then_is_a_no_op_and_round_trips_the_remote(project_copy):
    proj = project_copy
    first = run(["dvc", "repro", "validate_dataset"], proj)
    assert "Running stage 'build_dataset'" in first.stdout
    assert "Running stage 'validate_dataset'" in first.stdout
    result = json.loads((proj / "reports/validation/result.json").read_text())
    assert result["success"] is True
    assert (proj / "reports/validation/docs/index.html").is_file()

    again = run(["dvc", "repro", "validate_dataset"], proj)
    assert "Running stage" not in again.stdout, again.stdout

    # Versioned expert trajectories: push to the (local-directory) remote, lose them, pull.
    data = proj / "data/trajectories"
    before = digest(data)
    run(["dvc", "push", "build_dataset"], proj)
    shutil.rmtree(data)
    shutil.rmtree(proj / ".dvc/cache")
    run(["dvc", "pull", "build_dataset"], proj)
    assert digest(data) == before


def test_corrupt_trajectories_stop_the_pipeline(project_copy):
    proj = project_copy
    # A downstream stage that must never run on unvalidated data.
    with (proj / "dvc.yaml").open("a") as fh:
        fh.write(
            "  downstream:\n"
            "    cmd: touch downstream.ran\n"
            "    deps: [reports/validation/result.json]\n"
        )
    run(["dvc", "repro", "build_dataset"], proj)
    train = proj / "data/trajectories/train.jsonl"
    lines = train.read_text().splitlines()
    lines[2] = lines[2][:40]  # truncated JSON on line 3
    train.write_text("\n".join(lines) + "\n")

    direct = run(["tracer1", "validate-dataset", "--input", "data/trajectories"], proj, check=False)
    assert direct.returncode == 1
    assert "train.jsonl:3" in direct.stderr + direct.stdout

    # DVC runs validate on the corrupted data (build is not re-run: --downstream from validate).
    piped = run(["dvc", "repro", "--downstream", "validate_dataset"], proj, check=False)
    assert piped.returncode != 0
    assert not (proj / "downstream.ran").exists()
    # No training on unvalidated data: no model directory (only DVC's .gitignore files).
    assert not [p for p in (proj / "models").glob("*/*") if p.is_dir()]
