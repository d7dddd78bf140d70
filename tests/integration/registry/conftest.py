"""A real sqlite-backed MLflow store per test session, a planner directory and a test double."""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tracer1.config import TrackingConfig

LOCK = """\
schema: '2.0'
stages:
  build_dataset:
    outs:
    - path: data/trajectories
      hash: md5
      md5: 0123456789abcdef0123456789abcdef.dir
"""


@dataclass(frozen=True)
class Store:
    root: Path
    uri: str
    cfg: TrackingConfig


@pytest.fixture(scope="session")
def _store_root(tmp_path_factory):
    """One initialised store per test process (MLflow's first sqlite migration costs seconds)."""
    from tracer1 import tracking

    root = tmp_path_factory.mktemp("mlflow")
    cfg = TrackingConfig(artifact_location=str(root / "artifacts"), experiment="tracer1-test")
    with pytest.MonkeyPatch.context() as mp:
        # configure() makes MLflow export the URIs into os.environ; the context undoes that.
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        tracking.configure(cfg)
    return root, cfg


@pytest.fixture
def store(_store_root, monkeypatch):
    """The shared store, selected through the environment as a pipeline process would see it.

    Tests sharing it stay independent: each uses its own model name or pipeline id.
    """
    from tracer1 import tracking

    root, cfg = _store_root
    uri = f"sqlite:///{root}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    tracking.configure(cfg)
    return Store(root, uri, cfg)


class FakeAgent:
    """A Planner double: answers with the model directory's variant and the instruction."""

    def __init__(self, path):
        card = json.loads((Path(path) / "tracer1.json").read_text())
        self.horizon = card["horizon"]
        self.history = card["history"]
        self.variant = card["variant"]
        self.path = str(path)

    def plan(self, requests, *, sample=False, num=1):
        return [
            [f'<plan>\nanswer(text="{self.variant}: {r.instruction}")\n</plan>'] * num
            for r in requests
        ]


@pytest.fixture
def fake_agent(monkeypatch):
    """`tracer1.policy.load_agent` replaced by the double (the real model is another test's)."""
    import tracer1.policy

    monkeypatch.setattr(tracer1.policy, "load_agent", FakeAgent, raising=False)
    return FakeAgent


@pytest.fixture
def planner_dir(tmp_path):
    """Factory: a planner directory (tracer1.json + a small weights file) under tmp_path."""

    def make(name: str, variant: str = "anticipatory") -> Path:
        path = tmp_path / "models" / name
        path.mkdir(parents=True)
        card = {"horizon": 5, "history": 4, "variant": variant, "stage": "stage2"}
        (path / "tracer1.json").write_text(json.dumps(card))
        (path / "model.safetensors").write_bytes(b"\0" * 256)
        return path

    return make


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A project-like cwd: a git commit, params.yaml and a dvc.lock naming the trajectories."""
    (tmp_path / "params.yaml").write_text("promote: {}\n")
    (tmp_path / "dvc.lock").write_text(LOCK)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path
