"""A relative tracking URI names the project's store, wherever the stage runs.

`dvc exp run --temp` runs the stages in a copy of the repository under
``.dvc/tmp/exps/``; a URI resolved against that copy's folder was a throwaway store.
"""

import json
import sys

import pytest

from tests.helpers import VENV_BIN, run
from tracer1 import tracking
from tracer1.config import TrackingConfig

DVC = str(VENV_BIN / "dvc")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", tracking.DVC_ROOT_ENV):
        monkeypatch.delenv(var, raising=False)


def uri(value):
    return tracking.resolve_tracking_uri(TrackingConfig(tracking_uri=value))


def test_dvc_root_wins_over_the_working_directory(tmp_path, monkeypatch):
    workspace, copy = tmp_path / "repo", tmp_path / "repo/.dvc/tmp/exps/tmpabc"
    copy.mkdir(parents=True)
    (copy / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(copy)
    monkeypatch.setenv(tracking.DVC_ROOT_ENV, str(workspace))
    assert uri("sqlite:///mlflow/mlflow.db") == f"sqlite:///{workspace.resolve()}/mlflow/mlflow.db"


def test_without_dvc_the_folder_holding_dvc_yaml_is_the_root(tmp_path, monkeypatch):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "src/deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src/deep")
    root = tmp_path.resolve()
    assert tracking.project_root() == root
    assert uri("sqlite:///mlflow/mlflow.db") == f"sqlite:///{root}/mlflow/mlflow.db"
    assert uri("file:mlruns") == (root / "mlruns").as_uri()
    assert uri("mlruns") == str(root / "mlruns")


def test_absolute_and_server_uris_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(tracking.DVC_ROOT_ENV, str(tmp_path / "elsewhere"))
    assert uri(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path}/x.db"
    assert uri(f"file://{tmp_path}/mlruns") == f"file://{tmp_path}/mlruns"
    assert uri("http://mlflow.mlops.svc:5000") == "http://mlflow.mlops.svc:5000"
    assert uri("postgresql://u@db/mlflow") == "postgresql://u@db/mlflow"


def test_dvc_exp_run_temp_resolves_against_the_workspace(tmp_path):
    """The real client: a stage run by `dvc exp run --temp` sees the workspace's store."""
    repo = tmp_path / "repo"
    repo.mkdir()
    probe = ("import json, sys; from tracer1 import tracking; from tracer1.config import "
             "TrackingConfig; json.dump({'uri': tracking.resolve_tracking_uri(TrackingConfig()),"
             " 'cwd': __import__('os').getcwd()}, open('out.json', 'w'))")
    (repo / "dvc.yaml").write_text(
        "stages:\n  probe:\n    cmd: " + json.dumps(f"{sys.executable} -c \"{probe}\"")
        + "\n    outs:\n      - out.json:\n          cache: false\n")
    (repo / "params.yaml").write_text("x: 1\n")
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "t@example.com"],
                ["git", "config", "user.name", "t"], [DVC, "init", "-q"],
                ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        run(cmd, repo)
    run([DVC, "exp", "run", "--temp", "-n", "probe"], repo)
    out = json.loads(run(["git", "show", "refs/exps/" + _exp_ref(repo) + ":out.json"],
                         repo).stdout)
    assert "/.dvc/tmp/exps/" in out["cwd"]  # it really ran in the throwaway copy
    assert out["uri"] == f"sqlite:///{repo.resolve()}/mlflow/mlflow.db"


def _exp_ref(repo):
    refs = run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], repo).stdout.split()
    names = [r for r in refs if r.endswith("/probe")]
    assert names, refs
    return names[0][len("refs/exps/"):]
