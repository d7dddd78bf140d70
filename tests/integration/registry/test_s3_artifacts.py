"""MLflow artifacts on S3 behind the tracking server: `promote` logs the planner into a
bucket on a loopback S3-compatible server, the champion alias loads it back, and the
credentials appear in no MLflow param, tag, log or artifact."""

from __future__ import annotations

import json

import pytest

from tests.integration import s3
from tests.integration.registry.reports import report
from tests.integration.servers import mlflow_server, s3_server
from tracer1 import tracking
from tracer1.config import PromoteConfig, TrackingConfig

pytestmark = pytest.mark.integration

NAME = "tracer1-planner"
BUCKET = "tracer1-mlflow"


def test_promote_with_artifacts_on_s3(workspace, planner_dir, fake_agent, monkeypatch,
                                      tmp_path_factory):
    import mlflow
    from mlflow import MlflowClient

    from tracer1.registry.pyfunc import load_planner
    from tracer1.registry.stage import promote_stage

    state = tmp_path_factory.mktemp("mlflow-s3")
    # A pipeline process holds the credentials too (DVC needs them): nothing may log them.
    for key, value in s3.CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with s3_server(state) as store:
        s3.make_bucket(store.url, BUCKET)
        server_env = {**s3.CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": store.url,
                      "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{BUCKET}/artifacts"}
        with mlflow_server(state, server_env) as server:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
            monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
            monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            monkeypatch.setenv(tracking.PIPELINE_ID_ENV, "s3-flow")
            cfg = PromoteConfig(model_name=NAME, floors={"tooluse": 0.3})
            report_path = workspace / "report.json"
            report_path.write_text(json.dumps(report([1] * 7 + [0] * 3)))

            outcome = promote_stage(cfg, TrackingConfig(experiment="tracer1-s3"),
                                    report_path=report_path,
                                    model_dir=planner_dir("v1", "on-s3"))
            assert outcome.decision.promoted

            # The model's files are objects in the bucket, and the alias loads them back.
            objects = s3.keys(store.url, BUCKET, "artifacts/")
            assert any(key.endswith("tracer1.json") for key in objects), objects
            assert load_planner(f"models:/{NAME}@champion").variant == "on-s3"

            # Scan what MLflow recorded: run params, tags, metrics keys; model version and
            # registered-model tags; every artifact file; the server's log and database.
            client = MlflowClient(server.url)
            recorded = []
            for exp in client.search_experiments():
                for run in client.search_runs([exp.experiment_id]):
                    recorded += [json.dumps(run.data.params), json.dumps(run.data.tags),
                                 json.dumps(list(run.data.metrics))]
                    local = mlflow.artifacts.download_artifacts(
                        run_id=run.info.run_id, dst_path=str(state / "dl" / run.info.run_id))
                    recorded += [p.read_bytes().decode("utf-8", "replace")
                                 for p in sorted(state.joinpath("dl").rglob("*"))
                                 if p.is_file() and str(p).startswith(local)]
            for version in client.search_model_versions(f"name='{NAME}'"):
                recorded.append(json.dumps(version.tags))
            recorded.append(json.dumps(client.get_registered_model(NAME).tags))
            assert len(recorded) > 5
            assert not any(s3.leaks(text) for text in recorded)
        log = (state / "server.log").read_text()
        assert "Traceback" not in log and not s3.leaks(log)
        assert not s3.leaks((state / "server.db").read_bytes().decode("utf-8", "replace"))
