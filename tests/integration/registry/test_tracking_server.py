"""`mlflow/server.sh`: a real tracking server on loopback, `promote` against it over HTTP
(registry, aliases, proxied artifacts), then a clean stop."""

from __future__ import annotations

import json

import pytest

from tests.integration.registry.reports import report
from tests.integration.servers import group_alive, mlflow_server, responds
from tracer1 import tracking
from tracer1.config import PromoteConfig, TrackingConfig

pytestmark = pytest.mark.integration

NAME = "tracer1-planner"


@pytest.fixture
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(state) as srv:
        yield srv, state


def test_promote_over_http_then_a_clean_stop(server, workspace, planner_dir, fake_agent,
                                             monkeypatch):
    from mlflow import MlflowClient

    from tracer1.registry import mlflow_registry as registry
    from tracer1.registry.pyfunc import load_planner
    from tracer1.registry.stage import promote_stage

    srv, state = server
    url = srv.url
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "server-flow")
    # The embedded defaults name a local store; the environment must win over them.
    track = TrackingConfig(experiment="tracer1-server")
    cfg = PromoteConfig(model_name=NAME, floors={"tooluse": 0.3})
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
    srv.stop()
    assert srv.proc.returncode is not None and not group_alive(srv.proc.pid)
    assert not responds(f"{url}/health")
