"""`mlflow/server.sh`: a real tracking server on loopback, `promote` against it over HTTP
(registry, aliases, proxied artifacts), then a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.integration.registry.reports import report
from tracer1 import tracking
from tracer1.config import PromoteConfig, TrackingConfig

pytestmark = pytest.mark.integration

NAME = "tracer1-planner"
START_TIMEOUT_S = 180  # measured 20-45 s on 2 cores; more while other tests load them


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def server(tmp_path_factory):
    """(url, process, state dir) of `mlflow/server.sh` on a free loopback port."""
    state = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{state}/server.db",
        "MLFLOW_ARTIFACTS_DESTINATION": str(state / "artifacts"),
        "MLFLOW_PORT": str(port),
    }
    log = (state / "server.log").open("w")
    proc = subprocess.Popen(["bash", str(REPO / "mlflow/server.sh")], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not come up:\n{(state / 'server.log').read_text()}")
            time.sleep(0.5)
        yield url, proc, state
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()


def test_promote_over_http_then_a_clean_stop(server, workspace, planner_dir, fake_agent,
                                             monkeypatch):
    from mlflow import MlflowClient

    from tracer1.registry import mlflow_registry as registry
    from tracer1.registry.pyfunc import load_planner
    from tracer1.registry.stage import promote_stage

    url, proc, state = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "server-flow")
    # The embedded defaults name a local store; the environment must win over them.
    track = TrackingConfig(experiment="tracer1-server")
    cfg = PromoteConfig(model_name=NAME, floors={"tooluse": 0.3},
                        decision_path=str(workspace / "reports/promote/decision.json"))
    report_path = workspace / "report.json"
    report_path.write_text(json.dumps(report([1] * 6 + [0] * 4)))

    outcome = promote_stage(cfg, track, report_path=report_path,
                            model_dir=planner_dir("v1", "served"))

    assert outcome.decision.promoted and outcome.registry.champion_after == "1"
    assert MlflowClient(url).get_registered_model(NAME).aliases == {"champion": "1",
                                                                   "challenger": "1"}
    assert registry.champion_version(NAME) == "1"
    # Artifacts went through the server's proxy into its destination, not a local folder.
    assert any((state / "artifacts").rglob("tracer1.json"))
    assert not (workspace / "mlflow").exists()
    # The champion loads back over HTTP as a planner.
    planner = load_planner(f"models:/{NAME}@champion")
    assert planner.variant == "served"

    # A clean stop: SIGTERM to the server's process group ends every worker and frees the port.
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_alive(proc.pid)
    assert not healthy(url)
